// Checks deploy/'s YAML: every document of deploy/k8s/*.yaml against the
// Kubernetes API types (kubernetes-models validates with the upstream
// OpenAPI schemas) plus the cross-references a typo would break silently,
// and the shape of deploy/compose.yaml and deploy/cloud-init.yaml.
// Usage: node validate.mjs DEPLOY_DIR.  Prints `N passed, N failed`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const deployDir = process.argv[2];
const dir = join(deployDir, "k8s");
let passed = 0, failed = 0;
function check(ok, what, detail = "") {
  ok ? passed++ : failed++;
  console.log(`${ok ? "ok" : "FAIL"} ${what}${ok ? "" : ": " + detail}`);
}

async function modelFor(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`;
  const path = group.startsWith("core/") ? `kubernetes-models/${apiVersion}/${kind}` : `kubernetes-models/${group}/${kind}`;
  const mod = await import(path);
  return mod[kind];
}

const objects = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
  for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
    if (doc.errors.length) {
      check(false, `${file} parses`, doc.errors.map(String).join("; "));
      continue;
    }
    const obj = doc.toJS();
    if (!obj) continue;
    const name = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    try {
      const Model = await modelFor(obj.apiVersion, obj.kind);
      new Model(obj).validate();
      check(true, `${name} matches the ${obj.apiVersion} schema`);
      objects.push(obj);
    } catch (e) {
      check(false, `${name} matches the ${obj.apiVersion} schema`, String(e.message || e).slice(0, 400));
    }
  }
}

const byKind = (k) => objects.filter((o) => o.kind === k);
for (const set of byKind("StatefulSet")) {
  const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === set.spec.serviceName);
  check(svc?.spec.clusterIP === "None", `StatefulSet ${set.metadata.name} has its headless Service`);
  const c = set.spec.template.spec.containers[0];
  check(Boolean(c.readinessProbe?.httpGet?.path === "/readyz" && c.livenessProbe?.httpGet?.path === "/healthz"),
        `StatefulSet ${set.metadata.name} probes /readyz and /healthz`);
  check(Boolean(c.resources?.requests?.cpu && c.resources?.requests?.memory), `StatefulSet ${set.metadata.name} requests resources`);
  const router = objects.find((o) => o.kind === "ConfigMap" && o.data?.["upstreams.conf"]);
  const replicas = set.spec.replicas;
  for (let i = 0; i < replicas; i++) {
    check(Boolean(router?.data["upstreams.conf"].includes(`heaplab_s${i} `) && router.data["upstreams.conf"].includes(`${set.metadata.name}-${i}.${set.spec.serviceName}:`)),
          `router has an upstream for shard s${i}`);
  }
}
for (const pdb of byKind("PodDisruptionBudget")) {
  const sel = pdb.spec.selector.matchLabels;
  const owner = objects.find((o) => ["StatefulSet", "Deployment"].includes(o.kind) &&
    Object.entries(sel).every(([k, v]) => o.spec.template.metadata.labels[k] === v));
  check(Boolean(owner), `PodDisruptionBudget ${pdb.metadata.name} selects a workload`);
}
function loadOne(file) {
  const docs = parseAllDocuments(readFileSync(join(deployDir, file), "utf8"));
  check(docs.length === 1 && docs[0].errors.length === 0, `${file} is one valid YAML document`,
        docs.flatMap((d) => d.errors.map(String)).join("; "));
  return docs[0]?.toJS() ?? {};
}

const compose = loadOne("compose.yaml");
const svc = compose.services?.heaplab ?? {};
check(Object.keys(compose.services ?? {}).length === 1, "compose.yaml has one service");
check(JSON.stringify(svc.healthcheck?.test) === JSON.stringify(["CMD", "heaplab", "--healthcheck"]),
      "compose.yaml health check uses heaplab --healthcheck");
check((svc.volumes ?? []).some((v) => String(v).endsWith(":/var/lib/heaplab")) && compose.volumes?.["heaplab-data"] !== undefined,
      "compose.yaml mounts a data volume");
check(Boolean(svc.env_file), "compose.yaml reads an env file");

const cloudText = readFileSync(join(deployDir, "cloud-init.yaml"), "utf8");
const cloud = loadOne("cloud-init.yaml");
check(cloudText.startsWith("#cloud-config\n"), "cloud-init.yaml starts with #cloud-config");
check((cloud.packages ?? []).includes("nginx-light") && (cloud.runcmd ?? []).some((c) => String(c).includes("install.sh")),
      "cloud-init.yaml installs nginx and heaplab");

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
