#!/usr/bin/env bash
# Install zhqa from the offline bundle, with no network: ./zhqa-offline/install.sh PREFIX [--service]
# Checks every file against SHA256SUMS first, makes a virtualenv at PREFIX, installs the bundled wheels with pip
# --no-index (any registry setting in the environment or pip's configuration is ignored), puts the model under
# PREFIX/share/zhqa/models, and ends with a working PREFIX/bin/zhqa. With --service (as root): a system user
# `zhqa`, /var/lib/zhqa/{corpus,index}, /etc/zhqa/users.json and the systemd unit (see zhqa.service).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 PREFIX [--service]" >&2; exit 2; }
prefix=$1
service=0
[ "${2:-}" = "--service" ] && service=1

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
    echo "zhqa-offline needs CPython 3.11 (python3 here is $("$python" -V 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "zhqa-offline is built for Linux x86_64, not $(uname -m)" >&2; exit 1; }

echo "checking the bundle's files ..." >&2
(cd "$here" && sha256sum --quiet -c SHA256SUMS) || { echo "the bundle is damaged or incomplete: copy it again" >&2; exit 1; }

echo "installing into $prefix ..." >&2
"$python" -m venv "$prefix"
# nothing from any registry: no index, no configuration file, no environment setting of pip's
env -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_TRUSTED_HOST \
    PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$prefix/bin/pip" install -q --no-index --find-links "$here/wheels" torch==2.13.0 zhqa
mkdir -p "$prefix/share/zhqa"
rm -rf "$prefix/share/zhqa/models"
cp -r "$here/models" "$prefix/share/zhqa/models"
HF_HUB_OFFLINE=1 "$prefix/bin/zhqa" --help >/dev/null

command -v soffice >/dev/null || echo "note: LibreOffice is not installed: .doc/.wps/.rtf/.xls/.et/.ppt/.dps files are skipped with a message until it is (Debian: libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)" >&2

if [ "$service" = 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "--service needs root" >&2; exit 1; }
    id zhqa >/dev/null 2>&1 || useradd --system --home-dir /var/lib/zhqa --shell /usr/sbin/nologin zhqa
    install -d -o zhqa -g zhqa -m 0750 /var/lib/zhqa /var/lib/zhqa/corpus /var/lib/zhqa/index
    # the service's user writes its users file (zhqa user add, run as that user) and reads it; the unit keeps
    # /etc read-only for the running server
    install -d -o zhqa -g zhqa -m 0700 /etc/zhqa
    sed "s#/opt/zhqa#$prefix#g" "$here/zhqa.service" > /etc/systemd/system/zhqa.service
    echo "service installed: add users with  sudo -u zhqa $prefix/bin/zhqa user add NAME --admin --auth /etc/zhqa/users.json" >&2
    echo "then: systemctl daemon-reload && systemctl enable --now zhqa" >&2
fi
echo "installed: $prefix/bin/zhqa (try: $prefix/bin/zhqa serve --corpus DIR --index DIR)" >&2
