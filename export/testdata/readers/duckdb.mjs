// Reads the bundle's observations with DuckDB, as a researcher would:
// plain read_parquet and read_csv with DuckDB's own type detection.
// Usage: node duckdb.mjs observations.parquet observations.csv
// Prints one JSON object: per file, the row count, the column types DuckDB
// inferred, the rows with an empty value, and the rows of the spot check
// (sex purchase, Norway, persons reported, 2009 and 2010).
import { DuckDBInstance } from '@duckdb/node-api';

const [parquetPath, csvPath] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();

const quote = (s) => "'" + s.replaceAll("'", "''") + "'";
const out = {};
for (const [name, from] of [
  ['parquet', `read_parquet(${quote(parquetPath)})`],
  ['csv', `read_csv(${quote(csvPath)})`],
]) {
  const one = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
  const count = await one(`SELECT count(*)::INTEGER AS n, count(value)::INTEGER AS with_value FROM ${from}`);
  const types = await one(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${from})`);
  const spot = await one(`
    SELECT offence, offence_name, region, region_name, period::VARCHAR AS period, measure, measure_name,
           value, source, source_title, flags
    FROM ${from}
    WHERE offence = 'sex-purchase' AND region = 'NO' AND measure = 'reported-persons'
      AND period::VARCHAR IN ('2009', '2010')
    ORDER BY period, source`);
  out[name] = {
    rows: count[0].n,
    withValue: count[0].with_value,
    types: Object.fromEntries(types.map((t) => [t.column_name, t.column_type])),
    spot,
  };
}
console.log(JSON.stringify(out));
