# From QEMU's `info qtree`, print "ID BUS SLOT.FUNCTION" for every PCI
# device that has an id: BUS is the name of the bus it sits on (libvirt
# names them pci.0 / pcie.0 for the root and pci.N for controller index N),
# SLOT.FUNCTION as QEMU prints it (hex).  Bus numbers in `info pci` are
# given by the guest firmware, so the bus *name* is the reliable link
# between libvirt's controller index and QEMU's topology.
function indent(s) { match(s, /^ */); return RLENGTH }
{
  sub(/\r$/, "")
  n = indent($0)
  # leaving deeper levels: pop buses and devices opened at >= this indent
  while (bdepth > 0 && bind[bdepth] >= n) bdepth--
  if (ddepth > 0 && dind[ddepth] >= n) {
    while (ddepth > 0 && dind[ddepth] >= n) ddepth--
  }
}
/^ *bus: / {
  name = $0; sub(/^ *bus: /, "", name)
  bdepth++; bind[bdepth] = n; bname[bdepth] = name
  next
}
/^ *dev: / {
  id = ""
  if (match($0, /id "[^"]*"/)) id = substr($0, RSTART + 4, RLENGTH - 5)
  ddepth++; dind[ddepth] = n; did[ddepth] = id; dbus[ddepth] = bname[bdepth]
  next
}
/^ *addr = [0-9a-f][0-9a-f]\.[0-7]/ {
  if (ddepth > 0 && n == dind[ddepth] + 2 && did[ddepth] != "") {
    a = $0; sub(/^ *addr = /, "", a); sub(/ .*/, "", a)
    print did[ddepth], dbus[ddepth], a
  }
}
