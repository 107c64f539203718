// Reads a JSON-stat 2.0 dataset with the JSON-stat Javascript Toolkit, as a
// web client would, and reports the cells that hold a number, the labels
// of the spot check's offence and region, the dimension ids, and the spot
// check's values (sex purchase, Norway, persons reported, 2009 and 2010,
// by source).
// Usage: node jsonstat.js dataset.json
const fs = require('fs');
const JSONstat = require('jsonstat-toolkit');

const ds = JSONstat(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')));
if (ds.class !== 'dataset') {
  console.error('not a dataset: ' + ds.class);
  process.exit(1);
}
const values = ds.value.filter((v) => v !== null && v !== undefined).length;
const spot = [];
for (const source of ds.Dimension('source').id) {
  for (const period of ['2009', '2010']) {
    const sel = {
      offence: 'sex-purchase', region: 'NO', measure: 'reported-persons', sex: 'total', age: 'total',
      citizenship: 'total', repatriation_country: 'total', source, period,
    };
    const keep = Object.fromEntries(Object.entries(sel).filter(([k]) => ds.id.includes(k)));
    const d = ds.Data(keep);
    if (d && d.value !== null && d.value !== undefined) spot.push({ period, value: d.value, source });
  }
}
spot.sort((a, b) => (a.period + a.source).localeCompare(b.period + b.source));
console.log(JSON.stringify({
  ids: ds.id,
  values,
  offence: ds.Dimension('offence').Category('sex-purchase').label,
  region: ds.Dimension('region').Category('NO').label,
  spot,
}));
