// Opens an XLSX workbook with ExcelJS and prints its first sheet as a
// table: the sheet names, whether the header row is frozen, the header, and
// every further row as [value, type] pairs, as a spreadsheet user sees it.
// Usage: node table.js file.xlsx
const ExcelJS = require('exceljs');

(async () => {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(process.argv[2]);
  const ws = wb.worksheets[0];
  const typeName = (t) => Object.keys(ExcelJS.ValueType).find((k) => ExcelJS.ValueType[k] === t);
  const header = ws.getRow(1).values.slice(1);
  const rows = [];
  ws.eachRow({ includeEmpty: false }, (row, n) => {
    if (n === 1) return;
    const cells = [];
    for (let i = 1; i <= header.length; i++) {
      const c = row.getCell(i);
      cells.push([c.value, typeName(c.type)]);
    }
    rows.push(cells);
  });
  const frozen = (ws.views || []).some((v) => v.state === 'frozen' && v.ySplit === 1);
  console.log(JSON.stringify({ sheets: wb.worksheets.map((w) => w.name), frozen, header, rows }));
})().catch((e) => { console.error(e); process.exit(1); });
