"""``python -m streams.devstack.native_build [--status]``: compile the trigger modules with mypyc (see
``features.native``, which picks them up), or say whether the compiled ones would be used."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from features import native


def build() -> None:
    """Compile the trigger modules in place (mypyc, then the C compiler: 5-10 s) and record
    their sources' digests. Raises ``RuntimeError`` with the compiler's last lines if it fails."""
    for p in [*native.HERE.glob("*.so"), native.MANIFEST]:  # every earlier build's modules, whatever its list
        p.unlink(missing_ok=True)
    sources = {m: native.digest(native.source(m)) for m in native.MODULES}
    with tempfile.TemporaryDirectory(prefix="linernotes-native-") as tmp:  # mypyc's C files and objects
        script = (
            "from setuptools import setup\n"
            "from mypyc.build import mypycify\n"
            f"modules = mypycify({[str(native.source(m)) for m in native.MODULES]!r}, group_name={native.GROUP!r}, "
            f"opt_level='3', target_dir={tmp!r})\n"
            f"setup(name='linernotes-native', ext_modules=modules, "
            f"script_args=['build_ext', '--inplace', '--build-temp', {tmp!r}, '--build-lib', {tmp!r}])\n"
        )
        cmd = [sys.executable, "-c", script]
        proc = subprocess.run(cmd, check=False, cwd=native.HERE.parent, capture_output=True, text=True)
    if proc.returncode != 0 or set(native.extensions()) != set(native.MODULES):
        tail = " / ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"compiling the trigger modules failed (exit {proc.returncode}): {tail}")
    native.MANIFEST.write_text(json.dumps({"sources": sources, "python": sys.version.split()[0]}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--status"]:
        print("compiled, built from these sources" if native.fresh() else "pure Python (not built, or stale)")
        return 0
    if args:
        print("usage: python -m streams.devstack.native_build [--status]", file=sys.stderr)
        return 2
    try:
        build()
    except RuntimeError as e:
        print(f"streams.devstack.native_build: {e}", file=sys.stderr)
        return 1
    print(f"compiled {', '.join(native.MODULES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
