import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const compose = parse(readFileSync(join(repo, "docker-compose.yml"), "utf8"), { merge: true });

test("compose: redis with AOF, two hubs, two workers and nginx; prometheus and grafana only in the monitoring profile", () => {
  const always = Object.entries(compose.services).filter(([, s]) => !s.profiles).map(([n]) => n).sort();
  assert.deepEqual(always, ["hub1", "hub2", "nginx", "redis", "worker1", "worker2"]);
  assert.deepEqual(compose.services.prometheus.profiles, ["monitoring"]);
  assert.deepEqual(compose.services.grafana.profiles, ["monitoring"]);
  const redis = compose.services.redis;
  assert.ok(redis.command.includes("--appendonly") && redis.command.includes("yes"), "redis runs with AOF");
  assert.ok(redis.healthcheck, "redis has a health check");
});

test("compose: every hub and worker talks to the redis service and is built from the repo's Dockerfile", () => {
  for (const name of ["hub1", "hub2", "worker1", "worker2"]) {
    const svc = compose.services[name];
    assert.equal(svc.environment.RealtimeAgents__Redis, "redis:6379", `${name} uses redis`);
    assert.equal(svc.depends_on.redis.condition, "service_healthy");
    assert.ok(existsSync(join(repo, svc.build.context, svc.build.dockerfile)), `${name}'s Dockerfile exists`);
  }
  for (const name of ["hub1", "hub2"]) assert.match(compose.services[name].healthcheck.test.join(" "), /:8080\/readyz/);
  for (const name of ["worker1", "worker2"]) {
    assert.match(compose.services[name].healthcheck.test.join(" "), /:9091\/readyz/);
    assert.equal(compose.services[name].environment.RealtimeAgents__Worker__HttpUrls, "http://0.0.0.0:9091");
  }
  for (const name of ["worker1", "worker2"]) assert.match(compose.services[name].entrypoint.join(" "), /RealtimeAgents\.Worker\.dll/);
  assert.notEqual(compose.services.worker1.environment.RealtimeAgents__Worker__ConsumerName,
    compose.services.worker2.environment.RealtimeAgents__Worker__ConsumerName);
});

test("compose: nginx waits for healthy hubs and publishes the port", () => {
  const nginx = compose.services.nginx;
  assert.equal(nginx.depends_on.hub1.condition, "service_healthy");
  assert.equal(nginx.depends_on.hub2.condition, "service_healthy");
  assert.ok(nginx.ports.includes("8080:80"));
});

test("Dockerfile: every path it copies from the repo exists", () => {
  const dockerfile = readFileSync(join(repo, "deploy", "Dockerfile"), "utf8");
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
  assert.ok(sources.length > 3);
  for (const src of sources) if (src !== ".") assert.ok(existsSync(join(repo, src)), `${src} exists`);
});

test("nginx.conf: upgrades WebSockets, does not buffer SSE, and nginx -t accepts it", () => {
  const conf = readFileSync(join(repo, "deploy", "nginx.conf"), "utf8");
  assert.match(conf, /proxy_set_header Upgrade \$http_upgrade/);
  assert.match(conf, /proxy_buffering off/);
  const dir = mkdtempSync(join(tmpdir(), "ra-nginx-"));
  try {
    writeFileSync(join(dir, "nginx.conf"),
      conf.replace("HUB_A", "127.0.0.1:1").replace("HUB_B", "127.0.0.1:2").replace("LISTEN", "127.0.0.1:1"));
    const r = spawnSync("nginx", ["-t", "-p", dir, "-c", join(dir, "nginx.conf")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("run-distributed.sh --smoke: starts redis, two hubs, two workers and nginx, streams a task through nginx, stops them all", { timeout: 240_000 }, () => {
  const configuration = process.env.CONFIGURATION ?? "Debug";
  const r = spawnSync(join(repo, "scripts", "run-distributed.sh"), ["--smoke"], {
    encoding: "utf8",
    timeout: 230_000,
    env: { ...process.env, CONFIGURATION: configuration, SKIP_BUILD: existsSync(join(repo, "src/RealtimeAgents.Server/bin", configuration)) ? "1" : "0" },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /smoke ok/);
  const state = join(repo, "artifacts", "distributed");
  // "[a]rtifacts" matches the path but not this pgrep's own command line.
  const pattern = state.replace("/artifacts/", "/[a]rtifacts/");
  const leftovers = execFileSync("sh", ["-c", `pgrep -f '${pattern}' || true`], { encoding: "utf8" }).trim();
  assert.equal(leftovers, "", "every process the script started was stopped");
});

test("monitoring: prometheus scrapes every hub and worker with the nodes' metrics key, and promtool accepts its config", () => {
  const config = parse(readFileSync(join(repo, "deploy", "prometheus.yml"), "utf8"));
  const targets = Object.fromEntries(config.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets)]));
  assert.deepEqual(targets.hub, ["hub1:8080", "hub2:8080"]);
  assert.deepEqual(targets.worker, ["worker1:9091", "worker2:9091"]);
  const key = compose["x-realtime-agents"].environment.RealtimeAgents__Observability__MetricsApiKey;
  for (const job of config.scrape_configs) assert.equal(job.authorization.credentials, key);
  const r = spawnSync("promtool", ["check", "config", join(repo, "deploy", "prometheus.yml")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("monitoring: the grafana dashboard shows TTFT, delivery lag, throughput, errors and queue depth from documented metrics", () => {
  const dashboard = JSON.parse(readFileSync(join(repo, "deploy", "grafana", "realtime-agents.json"), "utf8"));
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
  const docs = readFileSync(join(repo, "docs", "operations.md"), "utf8");
  for (const m of ["time_to_first_token_seconds_bucket", "delivery_lag_seconds_bucket", "tasks_completed_total", "tasks_failed_total", "queue_depth"]) {
    assert.match(exprs, new RegExp(m));
  }
  for (const name of new Set(exprs.match(/realtime_agents_[a-z_]+/g))) {
    const base = name.replace(/_(bucket|sum|count)$/, "");
    assert.ok(docs.includes(base), `${base} is in docs/operations.md`);
  }
});

test("nginx.conf: /metrics is not served through the public edge", () => {
  const conf = readFileSync(join(repo, "deploy", "nginx.conf"), "utf8");
  assert.match(conf, /location = \/metrics \{\s*return 404;/);
});
