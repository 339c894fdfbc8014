// Reads [{filter, docs}] as JSON on stdin and writes, for each case, the
// array of mingo's verdicts (true/false, or "error: ...") on stdout.
'use strict';
const {Query} = require('mingo');

let input = '';
process.stdin.on('data', (c) => input += c);
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  const out = cases.map(({filter, docs}) => {
    let q;
    try {
      q = new Query(filter);
    } catch (e) {
      return 'error: ' + e.message;
    }
    return docs.map((d) => {
      try {
        return q.test(d);
      } catch (e) {
        return 'error: ' + e.message;
      }
    });
  });
  process.stdout.write(JSON.stringify(out));
});
