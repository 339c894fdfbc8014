package richtext

import "fmt"

// docUnits is the reference's diff input: the document's text as UTF-16
// code units, each embed standing as one NUL character.
func docUnits(ops []op) []uint16 {
	n := 0
	for i := range ops {
		n += ops[i].n
	}
	out := make([]uint16, 0, n)
	for i := range ops {
		if ops[i].kind == kText {
			out = appendUTF16(out, ops[i].s)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

// splitsPair reports whether a tuple boundary falls between the halves of
// a surrogate pair.
func splitsPair(diffs []diffTuple) bool {
	for _, d := range diffs {
		if startsWithPairEnd(d.text) || endsWithPairStart(d.text) {
			return true
		}
	}
	return false
}

// coarseDiff is the fallback when fast-diff's tuples would cut a pair:
// common prefix, one delete, one insert, common suffix (the prefix and
// suffix scans never end inside a pair).
func coarseDiff(text1, text2 []uint16) []diffTuple {
	var out []diffTuple
	n := diffCommonPrefix(text1, text2)
	if n > 0 {
		out = append(out, diffTuple{diffEqual, text1[:n]})
	}
	text1, text2 = text1[n:], text2[n:]
	m := diffCommonSuffix(text1, text2)
	if len(text1)-m > 0 {
		out = append(out, diffTuple{diffDelete, text1[:len(text1)-m]})
	}
	if len(text2)-m > 0 {
		out = append(out, diffTuple{diffInsert, text2[:len(text2)-m]})
	}
	if m > 0 {
		out = append(out, diffTuple{diffEqual, text1[len(text1)-m:]})
	}
	return out
}

func insertEqual(a, b *op) bool {
	return a.kind == b.kind && a.isInsert() && a.s == b.s
}

// diffDocs is Delta.diff(this=a, other=b).
func diffDocs(a, b []op) ([]op, error) {
	text1, text2 := docUnits(a), docUnits(b)
	diffs := fastDiff(text1, text2)
	if splitsPair(diffs) {
		diffs = coarseDiff(text1, text2)
	}
	thisIter := iter{ops: a}
	otherIter := iter{ops: b}
	w := newWriter(len(diffs) + 8)
	for _, c := range diffs {
		length := len(c.text)
		for length > 0 {
			opLength := 0
			switch c.op {
			case diffInsert:
				opLength = min(otherIter.peekLength(), length)
				w.push(otherIter.next(opLength))
			case diffDelete:
				opLength = min(length, thisIter.peekLength())
				thisIter.next(opLength)
				w.delete(opLength)
			case diffEqual:
				opLength = min(thisIter.peekLength(), otherIter.peekLength(), length)
				thisOp := thisIter.next(opLength)
				otherOp := otherIter.next(opLength)
				if insertEqual(&thisOp, &otherOp) {
					w.retain(opLength, diffAttrs(thisOp.attrs, otherOp.attrs))
				} else {
					w.push(otherOp)
					w.delete(opLength)
				}
			}
			if opLength <= 0 || opLength == inf {
				return nil, fmt.Errorf("rich-text: diff: tuples do not match the documents")
			}
			length -= opLength
		}
	}
	if thisIter.split || otherIter.split {
		return nil, errSplit("a diff boundary")
	}
	w.chop()
	return w.finish(), nil
}
