// Opens an XLSX workbook with ExcelJS and reports what a spreadsheet user
// would see: the sheets, whether the data sheet's header row is frozen, the
// data rows, the types of the value, period and period_start cells, and
// the rows of the spot check (sex purchase, Norway, persons reported, 2009
// and 2010).
// Usage: node exceljs.js file.xlsx
const ExcelJS = require('exceljs');

(async () => {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(process.argv[2]);
  const sheets = wb.worksheets.map((ws) => ws.name);
  const data = wb.worksheets[0];
  const header = data.getRow(1).values.slice(1);
  const col = (name) => header.indexOf(name) + 1;
  const typeName = (t) => Object.keys(ExcelJS.ValueType).find((k) => ExcelJS.ValueType[k] === t);
  const counts = { rows: 0, valueTypes: {}, periodTypes: {}, periodStartTypes: {} };
  const spot = [];
  data.eachRow({ includeEmpty: false }, (row, n) => {
    if (n === 1) return;
    counts.rows++;
    const cell = (name) => row.getCell(col(name));
    const bump = (m, t) => { m[t] = (m[t] || 0) + 1; };
    bump(counts.valueTypes, typeName(cell('value').type));
    bump(counts.periodTypes, typeName(cell('period').type));
    bump(counts.periodStartTypes, typeName(cell('period_start').type));
    if (cell('offence').value === 'sex-purchase' && cell('region').value === 'NO' &&
        cell('measure').value === 'reported-persons' && ['2009', '2010'].includes(cell('period').value)) {
      spot.push({
        period: cell('period').value,
        periodStart: cell('period_start').value instanceof Date ? cell('period_start').value.toISOString().slice(0, 10) : null,
        value: cell('value').value,
        source: cell('source').value,
        offence_name: cell('offence_name').value,
        region_name: cell('region_name').value,
        measure_name: cell('measure_name').value,
      });
    }
  });
  const view = (data.views || [])[0] || {};
  const notes = [];
  wb.worksheets[2].eachRow((row) => notes.push(row.values.slice(1).map(String).join(' | ')));
  console.log(JSON.stringify({
    sheets,
    header,
    frozen: view.state === 'frozen' && view.ySplit === 1,
    ...counts,
    sourceRows: wb.worksheets[1].actualRowCount - 1,
    notes,
    spot,
  }));
})().catch((err) => {
  console.error(String(err));
  process.exit(1);
});
