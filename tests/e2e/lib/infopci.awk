# From QEMU's `info pci`, print "ID BUS SLOT FUNCTION" (decimal) for every
# device with an id, and "bridge ID SECONDARY" for every bridge: the guest
# firmware numbers the buses behind bridges in the order it finds them, so
# the secondary bus number of the bridge with id pci.N is where the devices
# of libvirt's bus N show up.
/^ *Bus +[0-9]+, device +[0-9]+, function +[0-9]+:/ {
  s = $0; gsub(/[,:]/, " ", s); split(s, w, " ")
  bus = w[2]; slot = w[4]; fn = w[6]; secondary = ""
  next
}
/^ *secondary bus [0-9]+/ {
  s = $0; sub(/^ *secondary bus /, "", s); sub(/[^0-9].*/, "", s)
  secondary = s
  next
}
/^ *id "[^"]+"/ {
  id = $0; sub(/^ *id "/, "", id); sub(/".*/, "", id)
  print id, bus, slot, fn
  if (secondary != "") print "bridge", id, secondary
}
