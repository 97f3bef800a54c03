// vendor.js — the libraries deploy/setup copies into static/vendor/.
// Missing files are reported, not fatal: the tables still work.
export async function loadVendor() {
  const out = { cytoscape: null, uPlot: null, missing: [] };
  try {
    out.cytoscape = (await import('../vendor/cytoscape.esm.min.mjs')).default;
  } catch {
    out.missing.push('vendor/cytoscape.esm.min.mjs (Cytoscape.js: the object graph)');
  }
  try {
    out.uPlot = (await import('../vendor/uPlot.esm.js')).default;
  } catch {
    out.missing.push('vendor/uPlot.esm.js (uPlot: the GC timeline)');
  }
  return out;
}
