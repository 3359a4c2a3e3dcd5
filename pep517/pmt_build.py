"""The PEP 517 build backend of `pip install .` and `pip wheel .`: CMake builds the library, the
abi3 extension module and the native interposer into the package directory it lays out
(build/python/pymemtrace), and this packs that directory as a wheel tagged cp310-abi3 (one
wheel for every CPython >= 3.10). Standard library only, so that pip needs nothing from an index
(`requires = []`: build isolation downloads nothing). Needs cmake and a C compiler.

Environment: PMT_CMAKE (the cmake to run), PMT_BUILD_DIR (a build directory to reuse; by default
a temporary one), CMAKE_BUILD_PARALLEL_LEVEL (jobs)."""
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "pymemtrace"
TAG = "cp310-abi3"
SUMMARY = "Find where a Python process grows in memory, and what allocated it"


def _version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(pymemtrace VERSION ([0-9.]+)", f.read()).group(1)


def _platform():
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _wheel_name():
    return f"{NAME}-{_version()}-{TAG}-{_platform()}.whl"


def _metadata():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {_version()}\n"
            f"Summary: {SUMMARY}\nRequires-Python: >=3.10\nLicense: MIT\n"
            "Classifier: Programming Language :: C\n"
            "Classifier: Programming Language :: Python :: 3 :: Only\n"
            "Classifier: Operating System :: POSIX :: Linux\n"
            f"Description-Content-Type: text/markdown\n\n{readme}")


def _wheel_file():
    return (f"Wheel-Version: 1.0\nGenerator: pymemtrace pmt_build {_version()}\n"
            f"Root-Is-Purelib: false\nTag: {TAG}-{_platform()}\n")


def _entry_points():
    return ("[console_scripts]\npymemtrace = pymemtrace.cli:main\n\n"
            "[pytest11]\npymemtrace = pymemtrace.pytest_plugin\n")


def _build_package(build_dir):
    """CMake's package directory: the .py files, _pymemtrace.abi3.so, libpymemtrace_native.so."""
    cmake = os.environ.get("PMT_CMAKE", "cmake")
    configure = [cmake, "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                 "-DPMT_BUILD_TESTS=OFF", "-DPMT_BUILD_BENCH=OFF", "-DPMT_BUILD_DOCS=OFF",
                 f"-DPython3_EXECUTABLE={sys.executable}", "-DPython3_FIND_STRATEGY=LOCATION"]
    subprocess.run(configure, check=True, stdout=sys.stderr)
    subprocess.run([cmake, "--build", build_dir, "--target", "_pymemtrace"], check=True,
                   stdout=sys.stderr)
    return os.path.join(build_dir, "python", NAME)


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _pack(package_dir, wheel_directory):
    dist_info = f"{NAME}-{_version()}.dist-info"
    path = os.path.join(wheel_directory, _wheel_name())
    records = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for top, dirs, files in os.walk(package_dir):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                full = os.path.join(top, name)
                arcname = os.path.join(NAME, os.path.relpath(full, package_dir))
                with open(full, "rb") as f:
                    data = f.read()
                info = zipfile.ZipInfo(arcname, date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                whl.writestr(info, data)
                records.append(_record_line(arcname, data))
        for name, text in (("METADATA", _metadata()), ("WHEEL", _wheel_file()),
                           ("entry_points.txt", _entry_points())):
            data = text.encode("utf-8")
            arcname = f"{dist_info}/{name}"
            whl.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        records.append(f"{dist_info}/RECORD,,")
        whl.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return os.path.basename(path)


# --- PEP 517 hooks ---------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = os.path.join(metadata_directory, f"{NAME}-{_version()}.dist-info")
    os.makedirs(dist_info, exist_ok=True)
    for name, text in (("METADATA", _metadata()), ("WHEEL", _wheel_file()),
                       ("entry_points.txt", _entry_points())):
        with open(os.path.join(dist_info, name), "w", encoding="utf-8") as f:
            f.write(text)
    return os.path.basename(dist_info)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    reuse = os.environ.get("PMT_BUILD_DIR")
    if reuse:
        return _pack(_build_package(reuse), wheel_directory)
    with tempfile.TemporaryDirectory(prefix="pmt_wheel_") as build_dir:
        return _pack(_build_package(build_dir), wheel_directory)


def build_sdist(sdist_directory, config_settings=None):
    """The tracked tree (git ls-files) as NAME-VERSION.tar.gz."""
    import tarfile
    files = subprocess.run(["git", "-C", ROOT, "ls-files"], check=True, capture_output=True,
                           text=True).stdout.split()
    base = f"{NAME}-{_version()}"
    path = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for name in files:
            tar.add(os.path.join(ROOT, name), arcname=f"{base}/{name}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode("utf-8")
        info.size = len(data)
        import io
        tar.addfile(info, io.BytesIO(data))
    return os.path.basename(path)
