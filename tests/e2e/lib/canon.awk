# Turn the raw lines of addresses.xsl (KEY TAB ATTRS TAB ADDRESS) into
# canonical ones, "KEY ADDRESS ATTRS", where numbers no longer depend on
# how they were written (0x03, 3, 0x0003 are the same slot):
#   pci:0000:00:03.0 (+ ",multifunction=on" when set)
#   drive:0:1:0:0 (controller bus target unit)
#   virtio-serial:0:0:1 (controller bus port)
#   usb:0:1.2 (bus, port path)
#   anything else: TYPE:name=value,... sorted by name
# ATTRS keep their value text but lose the numeric formatting too.
# Portable awk (mawk): no strtonum, no asort.
BEGIN { FS = "\t" }

function num(s,    n, i, c, d) {
  if (s ~ /^0[xX][0-9a-fA-F]+$/) {
    n = 0
    for (i = 3; i <= length(s); i++) {
      c = tolower(substr(s, i, 1))
      d = index("0123456789abcdef", c) - 1
      n = n * 16 + d
    }
    return n
  }
  if (s ~ /^[0-9]+$/) return s + 0
  return s
}

function hex(n, w) { return sprintf("%0" w "x", n) }

# sort the words of s (a tiny insertion sort; lists are short)
function sortwords(s,    a, n, i, j, t, out) {
  n = split(s, a, " ")
  for (i = 2; i <= n; i++) {
    t = a[i]
    for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
  out = ""
  for (i = 1; i <= n; i++) out = out (i > 1 ? "," : "") a[i]
  return out
}

function canon_addr(s,    a, n, i, kv, k, v, f, type, rest) {
  if (s == "-" || s == "") return "-"
  delete f
  n = split(s, a, " ")
  for (i = 1; i <= n; i++) {
    kv = index(a[i], "=")
    k = substr(a[i], 1, kv - 1)
    v = substr(a[i], kv + 1)
    f[k] = v
  }
  type = f["type"]
  if (type == "pci") {
    rest = "pci:" hex(num(f["domain"]), 4) ":" hex(num(f["bus"]), 2) ":" \
           hex(num(f["slot"]), 2) "." hex(num(f["function"]), 1)
    if ("multifunction" in f) rest = rest ",multifunction=" f["multifunction"]
    return rest
  }
  if (type == "drive")
    return "drive:" num(f["controller"]) ":" num(f["bus"]) ":" \
           num(f["target"]) ":" num(f["unit"])
  if (type == "virtio-serial")
    return "virtio-serial:" num(f["controller"]) ":" num(f["bus"]) ":" num(f["port"])
  if (type == "usb")
    return "usb:" num(f["bus"]) ":" f["port"]
  rest = ""
  for (k in f) if (k != "type") rest = rest " " k "=" num(f[k])
  return type ":" sortwords(rest)
}

function canon_attrs(s,    a, n, i, kv, out) {
  if (s == "-" || s == "") return "-"
  n = split(s, a, " ")
  out = ""
  for (i = 1; i <= n; i++) {
    kv = index(a[i], "=")
    out = out (i > 1 ? " " : "") substr(a[i], 1, kv) num(substr(a[i], kv + 1))
  }
  return out
}

NF >= 3 { print $1 " " canon_addr($3) " " canon_attrs($2) }
