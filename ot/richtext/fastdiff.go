package richtext

// A port of fast-diff 1.2.0 (itself a trimmed diff-match-patch by Neil
// Fraser, Apache License 2.0) working on UTF-16 code units as JavaScript
// strings do, without the cursor_pos argument (quill-delta never passes
// one). Every function mirrors the JavaScript one of the same name, step
// by step, so that the output is the same tuple list.
//
// Texts are []uint16 slices that are never written: slicing shares them,
// and every concatenation allocates.

const (
	diffDelete int8 = -1
	diffEqual  int8 = 0
	diffInsert int8 = 1
)

type diffTuple struct {
	op   int8
	text []uint16
}

func u16Equal(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cat returns a new slice holding a then b.
func cat(a, b []uint16) []uint16 {
	out := make([]uint16, len(a)+len(b))
	copy(out, a)
	copy(out[len(a):], b)
	return out
}

// indexOf is String.prototype.indexOf(needle, from): the first match.
// Long needles use a Rabin-Karp rolling hash so a search stays linear.
func indexOf(hay, needle []uint16, from int) int {
	if from < 0 {
		from = 0
	}
	m := len(needle)
	if m == 0 {
		return min(from, len(hay))
	}
	if from+m > len(hay) {
		return -1
	}
	if m < 16 {
		first := needle[0]
		for i := from; i+m <= len(hay); i++ {
			if hay[i] == first && u16Equal(hay[i:i+m], needle) {
				return i
			}
		}
		return -1
	}
	const base = 1000003
	var hn, hh, pow uint64 = 0, 0, 1
	for i := 0; i < m; i++ {
		hn = hn*base + uint64(needle[i])
		hh = hh*base + uint64(hay[from+i])
		if i > 0 {
			pow *= base
		}
	}
	for i := from; ; i++ {
		if hh == hn && u16Equal(hay[i:i+m], needle) {
			return i
		}
		if i+m >= len(hay) {
			return -1
		}
		hh = (hh-uint64(hay[i])*pow)*base + uint64(hay[i+m])
	}
}

// spliceTuples is Array.prototype.splice(at, del, ...ins), in place.
func spliceTuples(d []diffTuple, at, del int, ins ...diffTuple) []diffTuple {
	switch grow := len(ins) - del; {
	case grow > 0:
		d = append(d, make([]diffTuple, grow)...)
		copy(d[at+len(ins):], d[at+del:len(d)-grow])
	case grow < 0:
		copy(d[at+len(ins):], d[at+del:])
		clear(d[len(d)+grow:])
		d = d[:len(d)+grow]
	}
	copy(d[at:], ins)
	return d
}

// fastDiff is fast-diff's exported diff(text1, text2): diff_main with
// fix_unicode at the top level only.
func fastDiff(text1, text2 []uint16) []diffTuple {
	return diffMain(text1, text2, true)
}

func diffMain(text1, text2 []uint16, fixUnicode bool) []diffTuple {
	// Check for equality.
	if u16Equal(text1, text2) {
		if len(text1) > 0 {
			return []diffTuple{{diffEqual, text1}}
		}
		return nil
	}

	// Trim off common prefix (speedup).
	n := diffCommonPrefix(text1, text2)
	commonPrefix := text1[:n]
	text1 = text1[n:]
	text2 = text2[n:]

	// Trim off common suffix (speedup).
	n = diffCommonSuffix(text1, text2)
	commonSuffix := text1[len(text1)-n:]
	text1 = text1[:len(text1)-n]
	text2 = text2[:len(text2)-n]

	// Compute the diff on the middle block.
	diffs := diffCompute(text1, text2)

	// Restore the prefix and suffix.
	if len(commonPrefix) > 0 {
		diffs = append([]diffTuple{{diffEqual, commonPrefix}}, diffs...)
	}
	if len(commonSuffix) > 0 {
		diffs = append(diffs, diffTuple{diffEqual, commonSuffix})
	}
	return diffCleanupMerge(diffs, fixUnicode)
}

func diffCompute(text1, text2 []uint16) []diffTuple {
	if len(text1) == 0 {
		// Just add some text (speedup).
		return []diffTuple{{diffInsert, text2}}
	}
	if len(text2) == 0 {
		// Just delete some text (speedup).
		return []diffTuple{{diffDelete, text1}}
	}

	longText, shortText := text2, text1
	if len(text1) > len(text2) {
		longText, shortText = text1, text2
	}
	if i := indexOf(longText, shortText, 0); i != -1 {
		// Shorter text is inside the longer text (speedup).
		op := diffInsert
		if len(text1) > len(text2) {
			// Swap insertions for deletions if diff is reversed.
			op = diffDelete
		}
		return []diffTuple{
			{op, longText[:i]},
			{diffEqual, shortText},
			{op, longText[i+len(shortText):]},
		}
	}

	if len(shortText) == 1 {
		// Single character string. After the previous speedup, the
		// character can't be an equality.
		return []diffTuple{{diffDelete, text1}, {diffInsert, text2}}
	}

	// Check to see if the problem can be split in two.
	if hm := diffHalfMatch(text1, text2); hm != nil {
		// Send both pairs off for separate processing.
		diffsA := diffMain(hm[0], hm[2], false)
		diffsB := diffMain(hm[1], hm[3], false)
		// Merge the results.
		out := make([]diffTuple, 0, len(diffsA)+1+len(diffsB))
		out = append(out, diffsA...)
		out = append(out, diffTuple{diffEqual, hm[4]})
		return append(out, diffsB...)
	}

	return diffBisect(text1, text2)
}

// diffBisect finds the 'middle snake' of a diff, splits the problem in two
// and returns the recursively constructed diff (Myers 1986).
func diffBisect(text1, text2 []uint16) []diffTuple {
	text1Length := len(text1)
	text2Length := len(text2)
	maxD := (text1Length + text2Length + 1) / 2 // Math.ceil((l1 + l2) / 2)
	vOffset := maxD
	vLength := 2 * maxD
	v1 := make([]int, vLength)
	v2 := make([]int, vLength)
	for x := range v1 {
		v1[x] = -1
		v2[x] = -1
	}
	v1[vOffset+1] = 0
	v2[vOffset+1] = 0
	delta := text1Length - text2Length
	// If the total number of characters is odd, then the front path will
	// collide with the reverse path.
	front := delta%2 != 0
	// Offsets for start and end of k loop. Prevents mapping of space beyond
	// the grid.
	k1start, k1end, k2start, k2end := 0, 0, 0, 0
	for d := 0; d < maxD; d++ {
		// Walk the front path one step.
		for k1 := -d + k1start; k1 <= d-k1end; k1 += 2 {
			k1Offset := vOffset + k1
			var x1 int
			if k1 == -d || (k1 != d && v1[k1Offset-1] < v1[k1Offset+1]) {
				x1 = v1[k1Offset+1]
			} else {
				x1 = v1[k1Offset-1] + 1
			}
			y1 := x1 - k1
			for x1 < text1Length && y1 < text2Length && text1[x1] == text2[y1] {
				x1++
				y1++
			}
			v1[k1Offset] = x1
			if x1 > text1Length {
				// Ran off the right of the graph.
				k1end += 2
			} else if y1 > text2Length {
				// Ran off the bottom of the graph.
				k1start += 2
			} else if front {
				k2Offset := vOffset + delta - k1
				if k2Offset >= 0 && k2Offset < vLength && v2[k2Offset] != -1 {
					// Mirror x2 onto top-left coordinate system.
					x2 := text1Length - v2[k2Offset]
					if x1 >= x2 {
						// Overlap detected.
						return diffBisectSplit(text1, text2, x1, y1)
					}
				}
			}
		}

		// Walk the reverse path one step.
		for k2 := -d + k2start; k2 <= d-k2end; k2 += 2 {
			k2Offset := vOffset + k2
			var x2 int
			if k2 == -d || (k2 != d && v2[k2Offset-1] < v2[k2Offset+1]) {
				x2 = v2[k2Offset+1]
			} else {
				x2 = v2[k2Offset-1] + 1
			}
			y2 := x2 - k2
			for x2 < text1Length && y2 < text2Length &&
				text1[text1Length-x2-1] == text2[text2Length-y2-1] {
				x2++
				y2++
			}
			v2[k2Offset] = x2
			if x2 > text1Length {
				// Ran off the left of the graph.
				k2end += 2
			} else if y2 > text2Length {
				// Ran off the top of the graph.
				k2start += 2
			} else if !front {
				k1Offset := vOffset + delta - k2
				if k1Offset >= 0 && k1Offset < vLength && v1[k1Offset] != -1 {
					x1 := v1[k1Offset]
					y1 := vOffset + x1 - k1Offset
					// Mirror x2 onto top-left coordinate system.
					x2 = text1Length - x2
					if x1 >= x2 {
						// Overlap detected.
						return diffBisectSplit(text1, text2, x1, y1)
					}
				}
			}
		}
	}
	// Number of diffs equals number of characters, no commonality at all.
	return []diffTuple{{diffDelete, text1}, {diffInsert, text2}}
}

func diffBisectSplit(text1, text2 []uint16, x, y int) []diffTuple {
	// Compute both diffs serially.
	diffs := diffMain(text1[:x], text2[:y], false)
	diffsb := diffMain(text1[x:], text2[y:], false)
	return append(diffs, diffsb...)
}

// diffCommonPrefix is the length of the common prefix, shortened by one if
// it would end between the halves of a surrogate pair. (The reference
// finds the length by binary search; the result is the same.)
func diffCommonPrefix(text1, text2 []uint16) int {
	if len(text1) == 0 || len(text2) == 0 || text1[0] != text2[0] {
		return 0
	}
	n := min(len(text1), len(text2))
	i := 0
	for i < n && text1[i] == text2[i] {
		i++
	}
	if i > 0 && isHighSurrogate(text1[i-1]) {
		i--
	}
	return i
}

// diffCommonSuffix is the length of the common suffix, shortened by one if
// it would start between the halves of a surrogate pair.
func diffCommonSuffix(text1, text2 []uint16) int {
	if len(text1) == 0 || len(text2) == 0 || text1[len(text1)-1] != text2[len(text2)-1] {
		return 0
	}
	n := min(len(text1), len(text2))
	i := 0
	for i < n && text1[len(text1)-1-i] == text2[len(text2)-1-i] {
		i++
	}
	if i > 0 && isLowSurrogate(text1[len(text1)-i]) {
		i--
	}
	return i
}

// diffHalfMatch: do the two texts share a substring which is at least half
// the length of the longer text? Returns text1 prefix, text1 suffix, text2
// prefix, text2 suffix and the common middle, or nil.
func diffHalfMatch(text1, text2 []uint16) [][]uint16 {
	longText, shortText := text2, text1
	if len(text1) > len(text2) {
		longText, shortText = text1, text2
	}
	if len(longText) < 4 || len(shortText)*2 < len(longText) {
		return nil // Pointless.
	}

	// First check if the second quarter is the seed for a half-match.
	hm1 := diffHalfMatchI(longText, shortText, (len(longText)+3)/4)
	// Check again based on the third quarter.
	hm2 := diffHalfMatchI(longText, shortText, (len(longText)+1)/2)
	var hm [][]uint16
	switch {
	case hm1 == nil && hm2 == nil:
		return nil
	case hm2 == nil:
		hm = hm1
	case hm1 == nil:
		hm = hm2
	default:
		// Both matched. Select the longest.
		if len(hm1[4]) > len(hm2[4]) {
			hm = hm1
		} else {
			hm = hm2
		}
	}

	// A half-match was found, sort out the return data.
	if len(text1) > len(text2) {
		return [][]uint16{hm[0], hm[1], hm[2], hm[3], hm[4]}
	}
	return [][]uint16{hm[2], hm[3], hm[0], hm[1], hm[4]}
}

// diffHalfMatchI: does a substring of shortText exist within longText such
// that the substring is at least half the length of longText?
func diffHalfMatchI(longText, shortText []uint16, i int) [][]uint16 {
	// Start with a 1/4 length substring at position i as a seed.
	seed := longText[i:min(i+len(longText)/4, len(longText))]
	j := -1
	var bestCommon []uint16
	var bestLongA, bestLongB, bestShortA, bestShortB []uint16
	for {
		j = indexOf(shortText, seed, j+1)
		if j == -1 {
			break
		}
		prefixLength := diffCommonPrefix(longText[i:], shortText[j:])
		suffixLength := diffCommonSuffix(longText[:i], shortText[:j])
		if len(bestCommon) < suffixLength+prefixLength {
			bestCommon = cat(shortText[j-suffixLength:j], shortText[j:j+prefixLength])
			bestLongA = longText[:i-suffixLength]
			bestLongB = longText[i+prefixLength:]
			bestShortA = shortText[:j-suffixLength]
			bestShortB = shortText[j+prefixLength:]
		}
		if len(seed) == 0 && j >= len(shortText) {
			break // indexOf of "" never moves past the end
		}
	}
	if len(bestCommon)*2 >= len(longText) {
		return [][]uint16{bestLongA, bestLongB, bestShortA, bestShortB, bestCommon}
	}
	return nil
}

func startsWithPairEnd(s []uint16) bool { return len(s) > 0 && isLowSurrogate(s[0]) }
func endsWithPairStart(s []uint16) bool { return len(s) > 0 && isHighSurrogate(s[len(s)-1]) }

// diffCleanupMerge reorders and merges like edit sections and merges
// equalities. Any edit section can move as long as it doesn't cross an
// equality. With fixUnicode, tuple boundaries that fall between the halves
// of a surrogate pair are moved.
func diffCleanupMerge(diffs []diffTuple, fixUnicode bool) []diffTuple {
	diffs = append(diffs, diffTuple{diffEqual, nil}) // Add a dummy entry at the end.
	pointer := 0
	countDelete := 0
	countInsert := 0
	var textDelete, textInsert []uint16
	for pointer < len(diffs) {
		if pointer < len(diffs)-1 && len(diffs[pointer].text) == 0 {
			diffs = spliceTuples(diffs, pointer, 1)
			continue
		}
		switch diffs[pointer].op {
		case diffInsert:
			countInsert++
			textInsert = cat(textInsert, diffs[pointer].text)
			pointer++
		case diffDelete:
			countDelete++
			textDelete = cat(textDelete, diffs[pointer].text)
			pointer++
		case diffEqual:
			previousEquality := pointer - countInsert - countDelete - 1
			if fixUnicode {
				// Prevent splitting of unicode surrogate pairs: shave stray
				// surrogates off the end of the previous equality and the
				// beginning of this one.
				if previousEquality >= 0 && endsWithPairStart(diffs[previousEquality].text) {
					pe := diffs[previousEquality].text
					stray := pe[len(pe)-1:]
					diffs[previousEquality].text = pe[:len(pe)-1]
					textDelete = cat(stray, textDelete)
					textInsert = cat(stray, textInsert)
					if len(diffs[previousEquality].text) == 0 {
						// Emptied out previous equality, so delete it and
						// include previous delete/insert.
						diffs = spliceTuples(diffs, previousEquality, 1)
						pointer--
						k := previousEquality - 1
						if k >= 0 && diffs[k].op == diffInsert {
							countInsert++
							textInsert = cat(diffs[k].text, textInsert)
							k--
						}
						if k >= 0 && diffs[k].op == diffDelete {
							countDelete++
							textDelete = cat(diffs[k].text, textDelete)
							k--
						}
						previousEquality = k
					}
				}
				if startsWithPairEnd(diffs[pointer].text) {
					stray := diffs[pointer].text[:1]
					diffs[pointer].text = diffs[pointer].text[1:]
					textDelete = cat(textDelete, stray)
					textInsert = cat(textInsert, stray)
				}
			}
			if pointer < len(diffs)-1 && len(diffs[pointer].text) == 0 {
				// For empty equality not at end, wait for next equality.
				diffs = spliceTuples(diffs, pointer, 1)
				break
			}
			if len(textDelete) > 0 || len(textInsert) > 0 {
				if len(textDelete) > 0 && len(textInsert) > 0 {
					// Factor out any common prefixes.
					if n := diffCommonPrefix(textInsert, textDelete); n != 0 {
						if previousEquality >= 0 {
							diffs[previousEquality].text = cat(diffs[previousEquality].text, textInsert[:n])
						} else {
							diffs = spliceTuples(diffs, 0, 0, diffTuple{diffEqual, textInsert[:n]})
							pointer++
						}
						textInsert = textInsert[n:]
						textDelete = textDelete[n:]
					}
					// Factor out any common suffixes.
					if n := diffCommonSuffix(textInsert, textDelete); n != 0 {
						diffs[pointer].text = cat(textInsert[len(textInsert)-n:], diffs[pointer].text)
						textInsert = textInsert[:len(textInsert)-n]
						textDelete = textDelete[:len(textDelete)-n]
					}
				}
				// Delete the offending records and add the merged ones.
				n := countInsert + countDelete
				switch {
				case len(textDelete) == 0 && len(textInsert) == 0:
					diffs = spliceTuples(diffs, pointer-n, n)
					pointer -= n
				case len(textDelete) == 0:
					diffs = spliceTuples(diffs, pointer-n, n, diffTuple{diffInsert, textInsert})
					pointer = pointer - n + 1
				case len(textInsert) == 0:
					diffs = spliceTuples(diffs, pointer-n, n, diffTuple{diffDelete, textDelete})
					pointer = pointer - n + 1
				default:
					diffs = spliceTuples(diffs, pointer-n, n, diffTuple{diffDelete, textDelete}, diffTuple{diffInsert, textInsert})
					pointer = pointer - n + 2
				}
			}
			if pointer != 0 && diffs[pointer-1].op == diffEqual {
				// Merge this equality with the previous one.
				diffs[pointer-1].text = cat(diffs[pointer-1].text, diffs[pointer].text)
				diffs = spliceTuples(diffs, pointer, 1)
			} else {
				pointer++
			}
			countInsert = 0
			countDelete = 0
			textDelete = nil
			textInsert = nil
		}
	}
	if len(diffs[len(diffs)-1].text) == 0 {
		diffs = diffs[:len(diffs)-1] // Remove the dummy entry at the end.
	}

	// Second pass: look for single edits surrounded on both sides by
	// equalities which can be shifted sideways to eliminate an equality.
	// e.g: A<ins>BA</ins>C -> <ins>AB</ins>AC
	changes := false
	pointer = 1
	// Intentionally ignore the first and last element (don't need checking).
	for pointer < len(diffs)-1 {
		if diffs[pointer-1].op == diffEqual && diffs[pointer+1].op == diffEqual {
			prev, cur, next := diffs[pointer-1].text, diffs[pointer].text, diffs[pointer+1].text
			// This is a single edit surrounded by equalities.
			if u16Equal(cur[max(len(cur)-len(prev), 0):], prev) {
				// Shift the edit over the previous equality.
				diffs[pointer].text = cat(prev, cur[:max(len(cur)-len(prev), 0)])
				diffs[pointer+1].text = cat(prev, next)
				diffs = spliceTuples(diffs, pointer-1, 1)
				changes = true
			} else if u16Equal(cur[:min(len(next), len(cur))], next) {
				// Shift the edit over the next equality.
				diffs[pointer-1].text = cat(prev, next)
				diffs[pointer].text = cat(cur[len(next):], next)
				diffs = spliceTuples(diffs, pointer+1, 1)
				changes = true
			}
		}
		pointer++
	}
	// If shifts were made, the diff needs reordering and another shift sweep.
	if changes {
		diffs = diffCleanupMerge(diffs, fixUnicode)
	}
	return diffs
}
