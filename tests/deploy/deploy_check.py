#!/usr/bin/python3
"""Deployment checks (ctest label `deploy`): the .deb, the systemd units in it,
and the Kubernetes manifests. One subcommand per ctest test:

  deb BUILD OUT README       cpack -G DEB; dpkg-deb --contents equals the
                             README's list; control fields and maintainer
                             scripts; extracts it to OUT/root for the next ones
  verify ROOT                systemd-analyze verify of every unit (no output
                             allowed), plus the settings the issue requires
  security ROOT              systemd-analyze security --offline exposure per unit
  exec ROOT                  every ExecStart binary exists, its flags are in its
                             --help, --check-config accepts the units' Environment=
  source-install BUILD OUT   cmake --install to another prefix: units name it
  render SRC OUT             kubectl kustomize k8s/base and k8s/overlays/s3
  k8s SRC OUT BIN            invariants over the rendered YAML

Standard library plus PyYAML (Debian's python3-yaml, tools/deps.sh test).
Exit 77 = skipped (ctest SKIP_RETURN_CODE)."""
import os
import re
import shlex
import shutil
import subprocess
import sys

SERVICES = ["kubarr-storaged", "kubarr-authd", "kubarr-metricsd", "kubarr-gateway"]
UNITS = ["kubarr.target"] + [s + ".service" for s in SERVICES]
UNIT_DIR = "usr/lib/systemd/system"
SKIP = 77
# Highest accepted `systemd-analyze security` exposure (0 = safest, 10 = none):
# the scores measured with systemd 252 when the units were written, plus a
# little, so a loosened sandbox fails here.
MAX_EXPOSURE = {"kubarr-storaged": 1.2, "kubarr-authd": 0.3,
                "kubarr-metricsd": 2.1, "kubarr-gateway": 1.2}
# Idle RSS measured on the running stack (README, Performance), KiB: every
# container's memory request must cover it.
IDLE_RSS_KIB = {"gateway": 8872, "storaged": 6624, "authd": 4264, "metricsd": 4172}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def finish():
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


# ---------------------------------------------------------------- units

def parse_unit(path):
    """{section: {key: [values...]}}; an empty assignment resets the list, as
    systemd does."""
    sections, cur = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = sections.setdefault(line[1:-1], {})
                continue
            key, _, value = line.partition("=")
            vals = cur.setdefault(key.strip(), [])
            if value.strip() == "":
                vals.clear()
                vals.append("")
            else:
                if vals == [""]:
                    vals.clear()
                vals.append(value.strip())
    return sections


def words(unit, section, key):
    out = []
    for v in unit.get(section, {}).get(key, []):
        out += v.split()
    return out


def one(unit, section, key):
    vals = unit.get(section, {}).get(key, [])
    return vals[-1] if vals else None


def unit_env(unit):
    env = {}
    for v in unit["Service"].get("Environment", []):
        for w in shlex.split(v):
            k, _, val = w.partition("=")
            env[k] = val
    return env


def cmd_verify(root):
    unit_dir = os.path.join(root, UNIT_DIR)
    # The check must be able to fail: a unit with a typo has to produce output.
    bad = os.path.join(unit_dir, "kubarr-selfcheck.service")
    with open(os.path.join(unit_dir, "kubarr-authd.service")) as f:
        text = f.read().replace("Type=notify", "Type=notifyy")
    with open(bad, "w") as f:
        f.write(text)
    r = run(["systemd-analyze", "verify", "--root=" + root, "--man=no",
             "kubarr-selfcheck.service"])
    os.unlink(bad)
    check("notifyy" in r.stdout,
          "systemd-analyze verify did not report a broken unit: %r" % r.stdout)

    r = run(["systemd-analyze", "verify", "--root=" + root, "--man=no"] + UNITS)
    print("systemd-analyze verify %s: exit %d" % (" ".join(UNITS), r.returncode))
    check(r.returncode == 0 and r.stdout.strip() == "",
          "systemd-analyze verify complained:\n" + r.stdout)

    units = {u: parse_unit(os.path.join(unit_dir, u)) for u in UNITS}
    target = units["kubarr.target"]
    check(sorted(words(target, "Unit", "Wants")) == sorted(s + ".service" for s in SERVICES),
          "kubarr.target must want the four services")
    check(words(target, "Install", "WantedBy") == ["multi-user.target"],
          "kubarr.target must be WantedBy=multi-user.target")
    required = {
        ("Service", "Type"): "notify",
        ("Service", "Restart"): "on-failure",
        ("Service", "RestartPreventExitStatus"): "2",
        ("Service", "User"): "kubarr",
        ("Service", "Group"): "kubarr",
        ("Service", "RuntimeDirectory"): "kubarr",
        ("Service", "RuntimeDirectoryPreserve"): "yes",
        ("Service", "EnvironmentFile"): "-/etc/kubarr/kubarr.env",
        ("Service", "NoNewPrivileges"): "yes",
        ("Service", "ProtectSystem"): "strict",
        ("Service", "ProtectHome"): "yes",
        ("Service", "PrivateTmp"): "yes",
        ("Service", "PrivateDevices"): "yes",
        ("Service", "SystemCallArchitectures"): "native",
        ("Unit", "PartOf"): "kubarr.target",
        ("Install", "WantedBy"): "kubarr.target",
    }
    for s in SERVICES:
        u = units[s + ".service"]
        for (sec, key), want in required.items():
            check(one(u, sec, key) == want, "%s: %s=%s, want %s" % (s, key, one(u, sec, key), want))
        check(one(u, "Service", "WatchdogSec") not in (None, "", "0"), s + ": WatchdogSec unset")
        check("@system-service" in words(u, "Service", "SystemCallFilter"),
              s + ": SystemCallFilter=@system-service missing")
        env = unit_env(u)
        check(env.get("KUBARR_RUNTIME_DIR") == "/run/kubarr", s + ": KUBARR_RUNTIME_DIR")
        check(env.get("KUBARR_DATA_DIR") == "/var/lib/kubarr", s + ": KUBARR_DATA_DIR")
        caps = set(words(u, "Service", "CapabilityBoundingSet"))
        ambient = set(words(u, "Service", "AmbientCapabilities"))
        want_caps = {"CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"} if s == "kubarr-metricsd" else set()
        check(caps == want_caps and ambient == want_caps,
              "%s: capabilities %s / ambient %s, want %s" % (s, caps, ambient, want_caps))
        fams = set(words(u, "Service", "RestrictAddressFamilies"))
        want_fams = {"AF_UNIX"} if s == "kubarr-authd" else {"AF_UNIX", "AF_INET", "AF_INET6"}
        check(fams == want_fams, "%s: RestrictAddressFamilies %s, want %s" % (s, fams, want_fams))
        check((one(u, "Service", "PrivateNetwork") == "yes") == (s == "kubarr-authd"),
              s + ": PrivateNetwork=yes exactly where no network is needed (authd)")
        check((one(u, "Service", "StateDirectory") == "kubarr") == (s == "kubarr-storaged"),
              s + ": StateDirectory=kubarr belongs to storaged alone")
    after = {s: set(words(units[s + ".service"], "Unit", "After")) for s in SERVICES}
    check("kubarr-storaged.service" in after["kubarr-authd"], "authd must start after storaged")
    check({"kubarr-storaged.service", "kubarr-authd.service"} <= after["kubarr-gateway"],
          "gateway must start after storaged and authd")
    check(not after["kubarr-storaged"], "storaged must not wait for anyone")
    finish()


def cmd_security(root):
    print("%-26s %s" % ("unit", "exposure (0 safest .. 10)"))
    for s in SERVICES:
        r = run(["systemd-analyze", "security", "--offline=true", "--root=" + root,
                 "--no-pager", s + ".service"])
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", r.stdout)
        if not check(r.returncode == 0 and m, s + ": no exposure level:\n" + r.stdout):
            continue
        score = float(m.group(1))
        print("%-26s %.1f %s (at most %.1f)" % (s + ".service", score, m.group(2), MAX_EXPOSURE[s]))
        check(score <= MAX_EXPOSURE[s], "%s: exposure %.1f above %.1f" % (s, score, MAX_EXPOSURE[s]))
    finish()


def help_text(binary):
    r = run([binary, "--help"])
    check(r.returncode == 0, "%s --help exited %d" % (binary, r.returncode))
    return r.stdout


def cmd_exec(root):
    for s in SERVICES:
        u = parse_unit(os.path.join(root, UNIT_DIR, s + ".service"))
        for key in ("ExecStart", "ExecReload"):
            for line in u["Service"].get(key, []):
                argv = shlex.split(line.lstrip("-@+!:"))
                path = os.path.join(root, argv[0].lstrip("/"))
                if not check(os.access(path, os.X_OK), "%s: %s %s not in the package" % (s, key, argv[0])):
                    continue
                if key != "ExecStart":
                    continue
                check(os.path.basename(argv[0]) == s, "%s: ExecStart runs %s" % (s, argv[0]))
                text = help_text(path)
                for a in argv[1:]:
                    flag = a.split("=", 1)[0]
                    if a.startswith("-"):
                        check(re.search(r"(^|[\s,])%s\b" % re.escape(flag), text),
                              "%s: flag %s not in --help" % (s, flag))
                    else:
                        check(re.search(r"^\s+%s\b" % re.escape(a), text, re.M),
                              "%s: command %s not in --help" % (s, a))
                env = dict(os.environ)
                env.update(unit_env(u))
                r = run([path, "--check-config"], env=env)
                check(r.returncode == 0, "%s --check-config with the unit's Environment=:\n%s" % (s, r.stdout))
                # Every KUBARR_* the unit sets is one this daemon reads.
                for k in unit_env(u):
                    check(k in text, "%s: Environment=%s is not in its --help" % (s, k))
                print("%s: %s exists, --help and --check-config ok" % (s, argv[0]))
    # The example env file names only variables some daemon reads.
    known = "".join(help_text(os.path.join(root, "usr/bin", s)) for s in SERVICES)
    example = os.path.join(root, "usr/share/doc/kubarr/kubarr.env.example")
    with open(example) as f:
        for name in re.findall(r"^#?\s*(KUBARR_[A-Z0-9_]+)=", f.read(), re.M):
            check(name in known, "kubarr.env.example: %s is read by no daemon" % name)
    finish()


def cmd_source_install(build, out):
    prefix = "/opt/kubarr"
    dest = os.path.join(out, "source-install")
    shutil.rmtree(dest, ignore_errors=True)
    env = dict(os.environ, DESTDIR=dest)
    r = run(["cmake", "--install", build, "--prefix", prefix], env=env)
    check(r.returncode == 0, "cmake --install failed:\n" + r.stdout)
    for s in SERVICES:
        check(os.access(os.path.join(dest, "opt/kubarr/bin", s), os.X_OK), s + " not installed")
        unit = os.path.join(dest, "opt/kubarr/lib/systemd/system", s + ".service")
        if check(os.path.exists(unit), unit + " not installed"):
            start = one(parse_unit(unit), "Service", "ExecStart")
            check(start == "%s/bin/%s" % (prefix, s), "%s: ExecStart=%s for prefix %s" % (s, start, prefix))
    print("cmake --install --prefix %s: units start %s/bin/kubarr-*" % (prefix, prefix))
    finish()


# ---------------------------------------------------------------- package

def readme_list(readme, marker):
    with open(readme) as f:
        text = f.read()
    m = re.search(r"<!-- %s -->(.*?)<!-- /%s -->" % (marker, marker), text, re.S)
    if not m:
        return None
    return {l.strip() for l in m.group(1).splitlines()
            if l.strip().startswith("/")}


def cmd_deb(build, out, readme):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    r = run(["cpack", "-G", "DEB", "-B", out], cwd=build)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    if not check(r.returncode == 0 and len(debs) == 1, "cpack -G DEB failed:\n" + r.stdout):
        finish()
    deb = os.path.join(out, debs[0])
    print("built " + debs[0])

    r = run(["dpkg-deb", "--contents", deb])
    files = set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts and not parts[0].startswith("d"):
            files.add(parts[-1].lstrip("."))
    listed = readme_list(readme, "deb-contents")
    if check(listed, "README has no <!-- deb-contents --> list"):
        check(files == listed, "dpkg-deb --contents differs from the README:\n  only in .deb: %s\n"
              "  only in README: %s" % (sorted(files - listed), sorted(listed - files)))
        print("dpkg-deb --contents: %d files, as the README lists" % len(files))

    field = lambda name: run(["dpkg-deb", "--field", deb, name]).stdout.strip()
    check(field("Package") == "kubarr", "Package: " + field("Package"))
    depends = field("Depends")
    print("Depends: " + depends)
    for lib in ("libnng1", "libmicrohttpd12", "libsqlite3-0", "libsystemd0", "libc6"):
        check(re.search(r"\b%s\b" % re.escape(lib), depends), "Depends lacks " + lib)

    ctrl = os.path.join(out, "control")
    run(["dpkg-deb", "--control", deb, ctrl])
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(ctrl, script)
        if check(os.access(path, os.X_OK), script + " missing or not executable"):
            r = run(["sh", "-n", path])
            check(r.returncode == 0, script + ": " + r.stdout)
    with open(os.path.join(ctrl, "postinst")) as f:
        post = f.read()
    check("systemd-sysusers" in post and "adduser" in post, "postinst does not create the user")
    check("deb-systemd-helper enable kubarr.target" in post, "postinst does not enable kubarr.target")

    # The package contents become the root the unit checks run against, with
    # the host's targets and /bin/kill so that references resolve.
    root = os.path.join(out, "root")
    run(["dpkg-deb", "-x", deb, root])
    for src in os.listdir("/lib/systemd/system"):
        if src.endswith((".target", ".slice")):
            dst = os.path.join(root, UNIT_DIR, src)
            if not os.path.exists(dst):
                shutil.copy2(os.path.join("/lib/systemd/system", src), dst, follow_symlinks=True)
    for link in ("bin", "lib", "sbin"):
        if not os.path.lexists(os.path.join(root, link)):
            os.symlink("usr/" + link, os.path.join(root, link))
    os.makedirs(os.path.join(root, "usr/sbin"), exist_ok=True)
    shutil.copy2(shutil.which("kill") or "/usr/bin/kill", os.path.join(root, "usr/bin/kill"))
    finish()


# ---------------------------------------------------------------- kubernetes

def cmd_render(src, out):
    os.makedirs(out, exist_ok=True)
    for name in ("base", "s3"):
        p = os.path.join(out, name + ".yaml")
        if os.path.exists(p):
            os.unlink(p)
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("SKIP: kubectl not found (no Debian package provides it); "
              "deploy_k8s_invariants checks the base's files without kustomize")
        sys.exit(SKIP)
    print(run([kubectl, "version", "--client"]).stdout.strip())
    for name, d in (("base", "k8s/base"), ("s3", "k8s/overlays/s3")):
        r = subprocess.run([kubectl, "kustomize", os.path.join(src, d)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check(r.returncode == 0, "kubectl kustomize %s:\n%s" % (d, r.stderr)):
            with open(os.path.join(out, name + ".yaml"), "w") as f:
                f.write(r.stdout)
            print("kubectl kustomize %s: %d objects" % (d, r.stdout.count("\nkind: ") + r.stdout.startswith("kind: ")))
    finish()


def load_docs(path):
    import yaml
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def base_files(src):
    """Without kustomize: the base's resources as written."""
    import yaml
    base = os.path.join(src, "k8s/base")
    with open(os.path.join(base, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    docs = []
    for res in kust["resources"]:
        docs += load_docs(os.path.join(base, res))
    return docs


def mem_kib(q):
    m = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|k|M|G)?", str(q))
    mult = {None: 1 / 1024, "Ki": 1, "Mi": 1024, "Gi": 1024 ** 2,
            "k": 1000 / 1024, "M": 1e6 / 1024, "G": 1e9 / 1024}[m.group(2)]
    return float(m.group(1)) * mult


def cpu_milli(q):
    q = str(q)
    return float(q[:-1]) if q.endswith("m") else float(q) * 1000


def check_manifests(docs, label, bindir, rendered):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    get = lambda kind, name: next((d for d in by_kind.get(kind, []) if d["metadata"]["name"] == name), None)
    p = label + ": "

    check(not by_kind.get("Deployment"), p + "the database pod must be a StatefulSet, not a Deployment")
    sts_all = by_kind.get("StatefulSet", [])
    if not check(len(sts_all) == 1, p + "want exactly one StatefulSet, got %d" % len(sts_all)):
        return
    sts = sts_all[0]
    spec = sts["spec"]
    check(spec.get("replicas") == 1, p + "replicas must be 1 (one SQLite writer)")
    strategy = spec.get("updateStrategy", {}).get("type", "RollingUpdate")
    check(strategy == "RollingUpdate", p + "updateStrategy %s: want RollingUpdate (StatefulSets have no Recreate)" % strategy)
    pod = spec["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    check(set(containers) == {"storaged", "authd", "metricsd", "gateway"},
          p + "containers %s" % sorted(containers))
    check(not pod.get("initContainers"), p + "no init containers expected")
    for k in ("hostPID", "hostNetwork", "hostIPC"):
        check(not pod.get(k), p + k + " must not be set")

    # Pod and container security context.
    psc = pod.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, p + "pod runAsNonRoot")
    check(psc.get("runAsUser", 0) != 0, p + "pod runAsUser must not be 0")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", p + "pod seccompProfile RuntimeDefault")
    for name, c in containers.items():
        sc = c.get("securityContext", {})
        check(sc.get("allowPrivilegeEscalation") is False, p + name + ": allowPrivilegeEscalation false")
        check(sc.get("readOnlyRootFilesystem") is True, p + name + ": readOnlyRootFilesystem")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], p + name + ": capabilities drop ALL")
        check(not sc.get("capabilities", {}).get("add"), p + name + ": no capability added")
        check(not sc.get("privileged"), p + name + ": not privileged")
        check(sc.get("runAsUser", psc.get("runAsUser", 0)) != 0, p + name + ": runs as root")
        check(c.get("command", [""])[0] == "/usr/bin/kubarr-" + name, p + name + ": command %s" % c.get("command"))

    # Resources, sized from measured RSS.
    for name, c in containers.items():
        res = c.get("resources", {})
        req, lim = res.get("requests", {}), res.get("limits", {})
        for k in ("cpu", "memory"):
            check(k in req and k in lim, p + name + ": resources.requests and .limits of " + k)
        if all(k in req and k in lim for k in ("cpu", "memory")):
            check(mem_kib(req["memory"]) >= IDLE_RSS_KIB[name],
                  p + "%s: memory request %s below its idle RSS %d KiB" % (name, req["memory"], IDLE_RSS_KIB[name]))
            check(mem_kib(req["memory"]) <= mem_kib(lim["memory"]), p + name + ": memory request above limit")
            check(cpu_milli(req["cpu"]) <= cpu_milli(lim["cpu"]), p + name + ": cpu request above limit")

    # The socket volume: one emptyDir mounted by all four at the same place,
    # and KUBARR_RUNTIME_DIR inside it.
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    cm = get("ConfigMap", "kubarr-config")
    check(cm is not None, p + "ConfigMap kubarr-config missing")
    cmdata = (cm or {}).get("data", {})
    rundir = cmdata.get("KUBARR_RUNTIME_DIR", "")
    shared = None
    for vname, v in vols.items():
        if "emptyDir" not in v:
            continue
        mounts = {n: [m["mountPath"] for m in c.get("volumeMounts") or [] if m["name"] == vname]
                  for n, c in containers.items()}
        if all(len(m) == 1 for m in mounts.values()) and len({m[0] for m in mounts.values()}) == 1:
            shared = list(mounts.values())[0][0]
    if check(shared, p + "no emptyDir mounted by all four containers at one path"):
        check(rundir == shared or rundir.startswith(shared.rstrip("/") + "/"),
              p + "KUBARR_RUNTIME_DIR %r is not in the shared emptyDir %r" % (rundir, shared))

    # Gateway probes.
    gw = containers.get("gateway", {})
    ports = {pt.get("name"): pt["containerPort"] for pt in gw.get("ports") or []}
    for probe, path in (("livenessProbe", "/api/health"), ("readinessProbe", "/api/system/ready"),
                        ("startupProbe", None)):
        pr = gw.get(probe)
        if not check(pr and "httpGet" in pr, p + "gateway " + probe + " (httpGet) missing"):
            continue
        if path:
            check(pr["httpGet"]["path"] == path, p + "gateway %s path %s, want %s" % (probe, pr["httpGet"]["path"], path))
        port = pr["httpGet"]["port"]
        check(port in ports or port in ports.values(), p + "gateway %s port %s is not a container port" % (probe, port))
    addr = cmdata.get("KUBARR_HTTP_ADDR", "")
    check(addr.rsplit(":", 1)[-1] == str(ports.get("http")), p + "KUBARR_HTTP_ADDR %s vs containerPort %s" % (addr, ports.get("http")))

    # storaged's volume: a PVC template labelled for backup, mounted at KUBARR_DATA_DIR.
    vcts = {v["metadata"]["name"]: v for v in spec.get("volumeClaimTemplates", [])}
    data_mounts = [m for m in containers.get("storaged", {}).get("volumeMounts") or []
                   if m["mountPath"] == cmdata.get("KUBARR_DATA_DIR")]
    if check(len(data_mounts) == 1 and data_mounts[0]["name"] in vcts,
             p + "storaged must mount a volumeClaimTemplate at KUBARR_DATA_DIR"):
        vct = vcts[data_mounts[0]["name"]]
        check(vct["metadata"].get("labels", {}).get("backup") == "hourly", p + "PVC template label backup: hourly")
        for n, c in containers.items():
            if n == "storaged":
                continue
            for m in c.get("volumeMounts") or []:
                if m["name"] not in vcts:
                    continue
                # authd (its key file) and metricsd (its persisted state) keep a
                # file on the volume, each in its own subPath: never the
                # database directory itself.
                check(n in ("authd", "metricsd") and m.get("subPath") == n and
                      m["mountPath"] != cmdata.get("KUBARR_DATA_DIR"),
                      p + n + " must not mount the database volume (only its own subPath)")

    # Credentials and token only where needed.
    for n, c in containers.items():
        secrets = [e["secretRef"]["name"] for e in c.get("envFrom") or [] if "secretRef" in e]
        check(bool(secrets) == (n == "storaged"), p + n + ": backup Secret is for storaged alone")
        for e in c.get("envFrom") or []:
            ref = e.get("configMapRef") or e.get("secretRef")
            kind = "ConfigMap" if "configMapRef" in e else "Secret"
            check(get(kind, ref["name"]) is not None or ref.get("optional"),
                  p + "%s refers to missing %s %s" % (n, kind, ref["name"]))
    check(pod.get("automountServiceAccountToken") is False, p + "pod must not automount the token")
    for n, c in containers.items():
        has = any(m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount" for m in c.get("volumeMounts") or [])
        check(has == (n == "metricsd"), p + n + ": the API token is metricsd's alone")

    # RBAC: read-only, only what metricsd calls.
    # (metricsd/kube.c: GET /api/v1/nodes, /api/v1/nodes/N/proxy/metrics/cadvisor,
    #  /api/v1/services, /apis/networking.k8s.io/v1/ingresses)
    allowed = {("", "nodes/proxy"): {"get"}, ("", "nodes"): {"list"}, ("", "services"): {"list"},
               ("networking.k8s.io", "ingresses"): {"list"}}
    for kind in ("Role", "ClusterRole"):
        for role in by_kind.get(kind, []):
            for rule in role.get("rules", []):
                for g in rule.get("apiGroups", []):
                    for r in rule.get("resources", []):
                        ok = (g, r) in allowed and set(rule.get("verbs", [])) <= allowed[(g, r)]
                        check(ok, p + "%s %s grants %s on %s/%s" % (kind, role["metadata"]["name"], rule.get("verbs"), g, r))
    sa = pod.get("serviceAccountName")
    check(get("ServiceAccount", sa) is not None, p + "ServiceAccount %s missing" % sa)

    labels = spec["template"]["metadata"]["labels"]
    pols = by_kind.get("NetworkPolicy", [])
    check(any(set(np["spec"]["podSelector"].get("matchLabels", {}).items()) <= set(labels.items())
              and set(np["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} for np in pols),
          p + "no NetworkPolicy restricting ingress and egress of the pod")
    svc = get("Service", "kubarr")
    if check(svc is not None, p + "Service kubarr missing"):
        check(set(svc["spec"]["selector"].items()) <= set(labels.items()), p + "Service selector does not match the pod")
        check(all(pt.get("targetPort") in ports or pt.get("targetPort") in ports.values()
                  for pt in svc["spec"]["ports"]), p + "Service targetPort is not a gateway port")
    check(spec.get("serviceName") == "kubarr", p + "serviceName")
    if rendered:
        for d in docs:
            if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
                check(d["metadata"].get("namespace") == "kubarr",
                      p + "%s %s not in namespace kubarr" % (d["kind"], d["metadata"]["name"]))

    # The ConfigMap's values are valid configuration for every daemon.
    check(all(k.startswith("KUBARR_") for k in cmdata), p + "ConfigMap keys must be KUBARR_*")
    if bindir:
        for n in containers:
            env = {k: v for k, v in os.environ.items() if not k.startswith("KUBARR_")}
            env.update({k: str(v) for k, v in cmdata.items()})
            r = run([os.path.join(bindir, "kubarr-" + n), "--check-config"], env=env)
            check(r.returncode == 0, p + "kubarr-%s --check-config rejects the ConfigMap:\n%s" % (n, r.stdout))
    return spec


def cmd_k8s(src, out, bindir):
    try:
        import yaml  # noqa: F401
    except ImportError:
        fail("PyYAML missing: apt-get install python3-yaml (tools/deps.sh test)")
        finish()
    base_yaml, s3_yaml = os.path.join(out, "base.yaml"), os.path.join(out, "s3.yaml")
    if os.path.exists(base_yaml):
        base = load_docs(base_yaml)
        print("checking kubectl kustomize k8s/base (%d objects)" % len(base))
        base_spec = check_manifests(base, "base", bindir, True)
    else:
        base = base_files(src)
        print("kubectl not found: checking k8s/base's files as written (%d objects); "
              "the overlay needs kustomize and is not checked" % len(base))
        check_manifests(base, "base", bindir, False)
    if os.path.exists(s3_yaml):
        s3 = load_docs(s3_yaml)
        print("checking kubectl kustomize k8s/overlays/s3 (%d objects)" % len(s3))
        s3_spec = check_manifests(s3, "s3", bindir, True)
        check(s3_spec == base_spec, "s3: the overlay must not change the StatefulSet")
        sec = [d for d in s3 if d["kind"] == "Secret" and d["metadata"]["name"] == "kubarr-backup"]
        if check(len(sec) == 1, "s3: one Secret kubarr-backup"):
            import base64
            data = {k: base64.b64decode(v).decode() for k, v in sec[0].get("data", {}).items()}
            data.update(sec[0].get("stringData", {}))
            check(data.get("KUBARR_BACKUP_URL", "").startswith("s3://"), "s3: KUBARR_BACKUP_URL must be s3://")
            for k in ("KUBARR_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                check(k in data, "s3: Secret lacks " + k)
    finish()


def main(argv):
    cmds = {"deb": (cmd_deb, 3), "verify": (cmd_verify, 1), "security": (cmd_security, 1),
            "exec": (cmd_exec, 1), "source-install": (cmd_source_install, 2),
            "render": (cmd_render, 2), "k8s": (cmd_k8s, 3)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__)
        return 2
    cmds[argv[1]][0](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
