// Loads a zipped Data Package with the Frictionless datapackage library in
// strict mode (the descriptor is validated against its profile), then reads
// every tabular resource with its Table Schema: each value is cast to its
// field's type, primary keys are checked for uniqueness and foreign keys
// are resolved against the tables they name.
// Usage: node datapackage.js bundle.zip
// Prints one JSON object: validity, errors, and rows read per resource.
const { Package } = require('datapackage');

(async () => {
  const pkg = await Package.load(process.argv[2], { strict: true });
  const out = {
    valid: pkg.valid,
    errors: pkg.errors.map(String),
    profile: pkg.profile.name,
    name: pkg.descriptor.name,
    version: pkg.descriptor.version,
    resources: {},
  };
  for (const resource of pkg.resources) {
    const entry = { valid: resource.valid, tabular: resource.tabular, errors: resource.errors.map(String) };
    if (resource.tabular) {
      const rows = await resource.read({ relations: true });
      entry.rows = rows.length;
      entry.fields = resource.schema.fieldNames;
    }
    out.resources[resource.name] = entry;
  }
  console.log(JSON.stringify(out));
})().catch((err) => {
  const detail = (err.errors || []).map(String);
  console.log(JSON.stringify({ valid: false, errors: [String(err), ...detail] }));
  process.exit(1);
});
