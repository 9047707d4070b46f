#!/bin/bash
# Triton's python backend runs "<model dir>/triton_python_backend_stub" when there is one: this
# starts the Python 3.11 stub from the nvidia-pytriton wheel (built for Triton 2.51, as in the
# 24.10 image) inside the linernotes environment, so the model imports torch and linernotes from
# there. Only the stub's process gets these variables; tritonserver keeps its own.
set -euo pipefail
VENV="${LINERNOTES_VENV:-/opt/linernotes}"  # the image's environment (a test points it elsewhere)
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
STUB="$SITE/pytriton/tritonserver/python_backend_stubs/3.11/triton_python_backend_stub"
if [[ "${1:-}" == "--check" ]]; then  # at image build: the stub is there and its libraries resolve
  test -x "$STUB" && ! ldd "$STUB" | grep -q "not found" && exit 0
  echo "python backend stub missing or unresolved: $STUB" >&2
  exit 1
fi
export PATH="$VENV/bin:$PATH"
export LD_LIBRARY_PATH="$SITE/nvidia_pytriton.libs:$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$STUB" "$@"
