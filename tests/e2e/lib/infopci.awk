# From QEMU's `info pci`, print "ID BUS SLOT FUNCTION" (decimal) for every
# device with an id.
/^ *Bus +[0-9]+, device +[0-9]+, function +[0-9]+:/ {
  s = $0; gsub(/[,:]/, " ", s); split(s, w, " ")
  bus = w[2]; slot = w[4]; fn = w[6]
  next
}
/^ *id "[^"]+"/ {
  id = $0; sub(/^ *id "/, "", id); sub(/".*/, "", id)
  print id, bus, slot, fn
}
