#!/usr/bin/env bash
# The project's own binaries run inside the guest: sriov-rdma-dp --version
# prints the repository's VERSION.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

version=$(<"$LAB_REPO/VERSION")
bin=${LAB_BIN_DIR:?}/sriov-rdma-dp
[ -x "$bin" ] || lab_fail "$bin is missing: build first (swift build -c release --static-swift-stdlib), or point --bin-dir / SRIOV_RDMA_BIN_DIR at the binaries"
lab_assert_eq "$version" "$("$bin" --version)" "sriov-rdma-dp --version"

# The other products, when built, must agree too.
for name in sriov-rdma-cni rdma-lat; do
  if [ -x "$LAB_BIN_DIR/$name" ]; then
    lab_assert_eq "$version" "$("$LAB_BIN_DIR/$name" --version)" "$name --version"
  else
    lab_log "$LAB_BIN_DIR/$name not built; not checked"
  fi
done
