#!/bin/sh
# End-to-end proof of devaddr's domain.assign against real libvirt + QEMU.
#
#   run-e2e.sh [CASE...]        CASE = a corpus file name without .xml,
#                               e.g. pc-nics, noboot/pc-hostdev, clash/...
#
# For every domain in domains/*.xml:
#   (1) define  libvirt accepts devaddr's output as is, and dumpxml
#               --inactive shows exactly devaddr's addresses, no others
#       held    devaddrd holds every address of that dumpxml, and no other
#               but the machine's own places and virtio consoles' ports
#       import  the dumpxml imported into a second VM: no conflict, and
#               the same addresses as the VM domain.assign made
#   (2) boot    it starts under TCG and QEMU's device tree (info qtree)
#               and `info pci` (every bus, through the bridges' secondary
#               bus numbers) put every device where devaddr said
#       live-import  the running domain's XML (with libvirt's aliases)
#               imported into a third VM: no conflict, the same addresses
#   (3) agree   given the same input without any <address>, libvirt's own
#               assignment equals devaddr's, device by device (per case, per
#               machine type against E2E_AGREE_PC / E2E_AGREE_Q35 percent)
# For every domain in domains/noboot/*.xml (libvirt defines them, this
# machine cannot boot them): (1) and (3).
# For every domain in domains/clash/*.xml and domains/reject/*.xml:
#   (4) reject  libvirt refuses it with the message the file names in its
#               "expect-error:" line, and so does devaddr; for clashes
#               devaddr's error must name both devices of the "clash:" line
# For the domains in E2E_HOTPLUG_CASES, with a small Linux guest running:
#   (5) hotplug device.attach, then `virsh attach-device --live`, for a NIC
#               (detached and attached again, the second time in two
#               phases), a USB tablet, a SCSI controller and a SCSI disk on
#               it; after each detach the address is released
#               (devaddrctl lookup exits 2); the next attach is accepted
#
# devaddr is plugged in with command templates (run by sh -c):
#   DEVADDR_ASSIGN  '... {vm} {in}'  prints the domain XML of file {in}
#                   with every address filled in; non-zero exit and an
#                   error on stderr when it refuses the input
#   DEVADDR_ATTACH  '... {vm} {dev} {dom}'  prints device XML {dev} with its
#                   address; {dom} is the running domain's current XML
#   DEVADDR_DETACH  '... {vm} {dev}'  releases the address of {dev}
#   DEVADDRCTL      'devaddrctl --socket S': the devaddrd those talk to,
#                   for the checks of what it holds (held, import,
#                   live-import, lookups after detach, two-phase detach);
#                   unset, they are skipped
# Unset, libvirt's own assignment stands in (libvirt-reference.sh assign,
# lib/standin-attach.sh), which validates the harness: agreement is 100%.
#
# Other environment: LIBVIRT_URI (qemu:///system), E2E_NO_SETUP=1 (do not
# run setup-libvirt.sh), E2E_BOOT=0 (skip (2)), E2E_HOTPLUG_CASES,
# E2E_GUEST_DIR (cache for the hotplug guest), E2E_KEEP=1 (keep the temp
# dir), E2E_VERBOSE=1 (print agreeing devices too).  CI=true (as CI sets
# it): a check that is skipped fails instead, and so does a run where
# nothing could run.
#
# Exit status as automake: 0 all passed, 1 something failed, 77 skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/lib
ref=$here/libvirt-reference.sh
URI=${LIBVIRT_URI:-qemu:///system}
export LIBVIRT_URI="$URI"
V="virsh -q -c $URI"

# in CI nothing may be skipped silently
ci=""
[ "${CI:-}" = true ] && ci=1
skip_all() { # WHY
  if [ -n "$ci" ]; then echo "run-e2e: FAIL: $1 (CI=true: a skipped e2e fails)"; exit 1; fi
  echo "run-e2e: SKIP: $1"
  exit 77
}

if [ "$(id -u)" -ne 0 ]; then
  skip_all "needs root to run libvirtd and QEMU"
fi
for t in xsltproc xmllint awk; do
  command -v $t >/dev/null 2>&1 || [ "${E2E_NO_SETUP:-0}" != 1 ] || skip_all "$t not found"
done
if [ "${E2E_NO_SETUP:-0}" != 1 ]; then
  sh "$here/setup-libvirt.sh"
  rc=$?
  [ $rc -eq 77 ] && skip_all "setup-libvirt.sh could not set up libvirt"
  [ $rc -eq 0 ] || { echo "run-e2e: setup-libvirt.sh exited $rc"; exit $rc; }
fi

standin=""
if [ -z "${DEVADDR_ASSIGN:-}" ]; then
  DEVADDR_ASSIGN="'$ref' assign --keep-addresses {in}"
  standin=1
fi
[ -n "${DEVADDR_ATTACH:-}" ] ||
  DEVADDR_ATTACH="'$lib/standin-attach.sh' {vm} {dev} {dom}"
: "${DEVADDR_DETACH:=true}"
DEVADDRCTL=${DEVADDRCTL:-}
AGREE_PC=${E2E_AGREE_PC:-100}
AGREE_Q35=${E2E_AGREE_Q35:-100}
# hotplug runs with the whole corpus, or for cases chosen explicitly
HOTPLUG_CASES=${E2E_HOTPLUG_CASES-pc-nics q35-nics}
[ $# -gt 0 ] && [ -z "${E2E_HOTPLUG_CASES+set}" ] && HOTPLUG_CASES=""
GUEST_DIR=${E2E_GUEST_DIR:-/var/cache/devaddr-e2e/guest}

tmp=$(mktemp -d /tmp/devaddr-e2e.XXXXXX) || exit 1
imgdir=$tmp/img
mkdir -p "$imgdir"
vms=""
cleanup() {
  for vm in $vms; do
    $V destroy "$vm" >/dev/null 2>&1
    $V undefine "$vm" >/dev/null 2>&1
  done
  if [ "${E2E_KEEP:-0}" = 1 ]; then echo "run-e2e: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

npass=0 nfail=0 nskip=0
result() { # STATUS NAME [DETAIL]
  st=$1
  if [ "$st" = SKIP ] && [ -n "$ci" ]; then
    st=FAIL
    set -- FAIL "$2" "${3:+$3; }CI=true: nothing may be skipped"
  fi
  case $st in
    PASS) npass=$((npass + 1)) ;;
    FAIL) nfail=$((nfail + 1)) ;;
    SKIP) nskip=$((nskip + 1)) ;;
  esac
  echo "$st: $2${3:+ ($3)}"
}

# run a command template with {vm} {in} {dev} {dom} filled in
run_tpl() { # TEMPLATE VM FILE [DOM]
  cmd=$(printf '%s' "$1" | sed -e "s|{vm}|$2|g" -e "s|{in}|'$3'|g" \
                               -e "s|{dev}|'$3'|g" -e "s|{dom}|'${4:-}'|g")
  sh -c "$cmd"
}

# devaddrctl of the devaddrd under test
ctl() { sh -c "$DEVADDRCTL $*"; }

canon() { "$ref" canon "$1"; }

# the corpus file with images made and its name set to VM
prepare() { # SRC VM DEST
  for img in $(grep -o "@IMGDIR@/[^'\"<]*" "$1" | sed 's|@IMGDIR@/||'); do
    [ -f "$imgdir/$img" ] || qemu-img create -q -f qcow2 "$imgdir/$img" 1M ||
      return 1
  done
  sed "s|@IMGDIR@|$imgdir|g" "$1" |
    xsltproc --stringparam name "$2" "$lib/rewrite.xsl" - >"$3"
}

define_vm() { # VM FILE
  vms="$vms $1"
  $V define "$2" >/dev/null
}

drop_vm() { # VM
  $V destroy "$1" >/dev/null 2>&1
  $V undefine "$1" >/dev/null 2>&1
}

machine_of() { # FILE -> pc | q35
  if grep -q "machine=['\"]\(pc-\)\{0,1\}q35" "$1"; then echo q35; else echo pc; fi
}

# (2): every PCI device of CANON (devaddr's lines) where QEMU has it
check_qemu() { # CASE VM CANON DIR
  c=$1 vm=$2 want=$3 d=$4
  $V dumpxml "$vm" >"$d/live.xml" &&
    $V qemu-monitor-command --hmp "$vm" 'info qtree' >"$d/qtree.txt" &&
    $V qemu-monitor-command --hmp "$vm" 'info pci' >"$d/infopci.txt" || return 1
  awk -f "$lib/qtree.awk" "$d/qtree.txt" >"$d/qtree.ids"
  awk -f "$lib/infopci.awk" "$d/infopci.txt" >"$d/infopci.ids"
  xsltproc "$lib/aliases.xsl" "$d/live.xml" | awk -f "$lib/canon.awk" >"$d/aliases"
  root=pci.0
  grep -q ' pcie\.0 ' "$d/qtree.ids" && root=pcie.0
  bad=0 seen=0
  while read -r key addr _rest; do
    case $addr in pci:*) ;; *) continue ;; esac
    alias=$(awk -v k="$key" '$1 == k { print $3 }' "$d/aliases")
    # pci:DDDD:BB:SS.F[,multifunction=..]
    bsf=${addr#pci:????:}; bsf=${bsf%%,*}
    bus=${bsf%%:*}; sf=${bsf#*:}
    busdec=$(printf '%d' "0x$bus")
    if [ "$busdec" -eq 0 ]; then busname=$root; else busname=pci.$busdec; fi
    got=$(awk -v id="$alias" '$1 == id { print $2 " " $3 }' "$d/qtree.ids")
    if [ -z "$alias" ] || [ "$alias" = - ] || [ -z "$got" ]; then
      # the chipset's own functions have no id in QEMU
      case "$key $addr" in
        "controller[type=ide,index=0] pci:0000:00:01.1"|\
        "controller[type=sata,index=0] pci:0000:00:1f.2") continue ;;
      esac
      echo "  ! $key ($alias) at $addr: not in QEMU's device tree"
      bad=$((bad + 1)); continue
    fi
    seen=$((seen + 1))
    if [ "$got" != "$busname $sf" ]; then
      echo "  ! $key ($alias): devaddr $busname $sf, QEMU $got"
      bad=$((bad + 1)); continue
    fi
    # info pci numbers the buses behind bridges as the firmware found them:
    # bus N is the secondary bus of the bridge QEMU knows as pci.N
    s=$(printf '%d' "0x${sf%.*}") f=${sf#*.}
    if [ "$busdec" -eq 0 ]; then
      guestbus=0
    else
      guestbus=$(awk -v id="pci.$busdec" '$1 == "bridge" && $2 == id { print $3 }' "$d/infopci.ids")
    fi
    if [ -z "$guestbus" ] || [ "$guestbus" = 0 -a "$busdec" -ne 0 ]; then
      echo "  ! $key ($alias): info pci has no bridge pci.$busdec with a bus behind it"
      bad=$((bad + 1))
    elif ! grep -q "^$alias $guestbus $s $f\$" "$d/infopci.ids"; then
      echo "  ! $key ($alias): info pci does not show it at bus $guestbus (pci.$busdec) slot $s function $f"
      bad=$((bad + 1))
    fi
  done <"$want"
  [ $bad -eq 0 ] && echo "  $seen PCI devices where devaddr put them"
  return $bad
}

agree_pc=0 total_pc=0 agree_q35=0 total_q35=0

# "TYPE ADDRESS" of every device address of a canonical list, as devaddrd
# prints them (a drive address's type without its bus: drive)
canon_held_form() { # CANON
  awk '{ a = $2; sub(/,.*/, "", a)
         if (a ~ /^pci:/) print "pci", substr(a, 5)
         else if (a ~ /^drive:/) print "drive", substr(a, 7)
         else if (a ~ /^virtio-serial:/) print "virtio-serial", substr(a, 15)
         else if (a ~ /^usb:/) print "usb", substr(a, 5) }' "$1" | LC_ALL=C sort
}

# what devaddrd holds for VM: OUT every address, OUT.own those that must be
# in the domain XML (not the machine's own places, not a virtio console's
# port 0, which libvirt never writes: RULES.md §6)
held_of() { # VM OUT
  ctl "--json vm show '$1'" >"$2.json" 2>"$2.err" || { sed 's/^/  /' "$2.err"; return 1; }
  awk -f "$lib/reservations.awk" "$2.json" |
    awk '{ t = $2; sub(/^drive-.*/, "drive", t); print t, $3, $5 }' >"$2.raw"
  awk '{ print $1, $2 }' "$2.raw" | LC_ALL=C sort >"$2"
  awk '$3 == 0 && !($1 == "virtio-serial" && $2 ~ /:0$/) { print $1, $2 }' "$2.raw" |
    LC_ALL=C sort >"$2.own"
}

# (1) held: the addresses of libvirt's dumpxml and devaddrd's reservations
check_held() { # CASE VM CANON DIR
  if [ -z "$DEVADDRCTL" ]; then result SKIP "$1 held" "no DEVADDRCTL"; return; fi
  canon_held_form "$3" >"$4/xml.addr"
  if ! held_of "$2" "$4/held"; then result FAIL "$1 held" "vm show failed"; return; fi
  LC_ALL=C comm -23 "$4/xml.addr" "$4/held" | sed 's/^/  ! in the XML, not held: /' >"$4/held.diff"
  LC_ALL=C comm -13 "$4/xml.addr" "$4/held.own" | sed 's/^/  ! held, not in the XML: /' >>"$4/held.diff"
  if [ -s "$4/held.diff" ]; then
    cat "$4/held.diff"
    result FAIL "$1 held" "devaddrd's reservations differ from libvirt's XML"
  else
    result PASS "$1 held" "$(wc -l <"$4/xml.addr") addresses, $(wc -l <"$4/held") held"
  fi
}

# (1), (2) import: an XML libvirt wrote, adopted by another VM, gives the
# addresses the assigned VM holds
check_import() { # CASE NAME VM XML DIR
  c=$1 name=$2 vm=$3 xml=$4 d=$5
  if [ -z "$DEVADDRCTL" ]; then result SKIP "$c $name" "no DEVADDRCTL"; return; fi
  if ! ctl "import '$vm-$name' '$xml'" >"$d/$name.out" 2>"$d/$name.err"; then
    sed 's/^/  /' "$d/$name.err"
    result FAIL "$c $name" "domain.import refused libvirt's XML"
    return
  fi
  if ! held_of "$vm-$name" "$d/$name.held" || ! [ -f "$d/held" ]; then
    result FAIL "$c $name" "vm show failed"
    return
  fi
  if LC_ALL=C cmp -s "$d/held" "$d/$name.held"; then
    result PASS "$c $name" "$(wc -l <"$d/held") addresses"
  else
    LC_ALL=C diff "$d/held" "$d/$name.held" | sed -n 's/^</  ! assigned only:/p; s/^>/  ! imported only:/p'
    result FAIL "$c $name" "the imported VM holds other addresses"
  fi
}

run_case() { # FILE
  f=$1 c=$(basename "$1" .xml) noboot=""
  case $f in */noboot/*) noboot=1 c=noboot/$c ;; esac
  d=$tmp/$(echo "$c" | tr / -) vm=devaddr-e2e-$(basename "$1" .xml)
  mkdir -p "$d"
  echo "== $c: $(sed -n 's/^<!-- \(.*\) -->$/\1/p' "$f" | head -n 1)"
  prepare "$f" "$vm" "$d/in.xml" || { result FAIL "$c define" "cannot prepare"; return; }

  # (1) define devaddr's output as is
  if ! run_tpl "$DEVADDR_ASSIGN" "$vm" "$d/in.xml" >"$d/out.raw" 2>"$d/assign.err"; then
    sed 's/^/  /' "$d/assign.err"
    result FAIL "$c define" "devaddr refused the input"
    [ -n "$noboot" ] || result FAIL "$c boot" "nothing to boot"
  else
    xsltproc --stringparam name "$vm" "$lib/rewrite.xsl" "$d/out.raw" >"$d/out.xml"
    canon "$d/out.xml" >"$d/out.canon"
    if ! define_vm "$vm" "$d/out.xml" 2>"$d/define.err"; then
      sed 's/^/  /' "$d/define.err"
      result FAIL "$c define" "libvirt refused devaddr's output"
      [ -n "$noboot" ] || result FAIL "$c boot" "not defined"
    else
      $V dumpxml --inactive "$vm" >"$d/back.xml"
      canon "$d/back.xml" >"$d/back.canon"
      if QUIET=1 "$ref" compare "$d/back.canon" "$d/out.canon" >"$d/define.cmp" &&
         tail -n 1 "$d/define.cmp" | grep -q ' 100%'; then
        result PASS "$c define" "$(grep -c ' pci:' "$d/out.canon") PCI addresses"
      else
        grep '^  !' "$d/define.cmp"
        result FAIL "$c define" "libvirt's dumpxml differs from devaddr's output"
      fi
      check_held "$c" "$vm" "$d/back.canon" "$d"
      check_import "$c" import "$vm" "$d/back.xml" "$d"
      # (2) boot under TCG and look into QEMU
      if [ -n "$noboot" ]; then
        :
      elif [ "${E2E_BOOT:-1}" = 0 ]; then
        result SKIP "$c boot" "E2E_BOOT=0"
      elif ! $V start "$vm" >/dev/null 2>"$d/start.err"; then
        sed 's/^/  /' "$d/start.err"
        result FAIL "$c boot" "virsh start failed"
      else
        if check_qemu "$c" "$vm" "$d/out.canon" "$d"; then
          result PASS "$c boot"
        else
          result FAIL "$c boot" "QEMU disagrees with devaddr"
        fi
        # the running domain's XML carries libvirt's aliases
        [ -s "$d/live.xml" ] && check_import "$c" live-import "$vm" "$d/live.xml" "$d"
        $V destroy "$vm" >/dev/null 2>&1
      fi
    fi
    drop_vm "$vm"
  fi

  # (3) same input without addresses: libvirt's choice against devaddr's
  "$ref" strip "$d/in.xml" >"$d/stripped.xml"
  m=$(machine_of "$d/in.xml")
  if ! "$ref" reference "$d/stripped.xml" >"$d/ref.canon" 2>"$d/ref.err"; then
    sed 's/^/  /' "$d/ref.err"
    result FAIL "$c agree" "libvirt refused the stripped input"
    return
  fi
  if run_tpl "$DEVADDR_ASSIGN" "$vm-s" "$d/stripped.xml" >"$d/sout.xml" 2>"$d/sassign.err"; then
    canon "$d/sout.xml" >"$d/sout.canon"
  else
    sed 's/^/  /' "$d/sassign.err"
    : >"$d/sout.canon"
  fi
  QUIET=$([ "${E2E_VERBOSE:-0}" = 1 ] || echo 1) \
    "$ref" compare "$d/ref.canon" "$d/sout.canon" "$c" >"$d/agree.cmp"
  grep '^  [!=]' "$d/agree.cmp"
  line=$(tail -n 1 "$d/agree.cmp")       # agree A/T P% CASE
  at=$(echo "$line" | awk '{ print $2 }')
  a=${at%/*} t=${at#*/}
  eval "agree_$m=\$((agree_$m + a)); total_$m=\$((total_$m + t))"
  echo "  $m $line"
  if [ "$a" -eq "$t" ]; then result PASS "$c agree" "$at"
  else result FAIL "$c agree" "$at devices agree"; fi
}

# (4) inputs libvirt rejects; devaddr must reject them too
run_reject() { # FILE KIND
  f=$1 c=$2/$(basename "$1" .xml)
  d=$tmp/$(echo "$c" | tr / -) vm=devaddr-e2e-$(basename "$1" .xml)
  mkdir -p "$d"
  want=$(sed -n 's/^ *expect-error: \(.*\)$/\1/p' "$f" | sed 's/ *-->$//' | head -n 1)
  clash=$(sed -n 's/^ *clash: \(.*\)$/\1/p' "$f" | sed 's/ *-->$//' | head -n 1)
  echo "== $c: libvirt should say: $want"
  prepare "$f" "$vm" "$d/in.xml" || { result FAIL "$c reject"; return; }
  if define_vm "$vm" "$d/in.xml" 2>"$d/define.err"; then
    drop_vm "$vm"
    result FAIL "$c libvirt-rejects" "libvirt accepted it"
  elif grep -qF -- "$want" "$d/define.err"; then
    result PASS "$c libvirt-rejects"
  else
    sed 's/^/  /' "$d/define.err"
    result FAIL "$c libvirt-rejects" "another error than expected"
  fi
  if run_tpl "$DEVADDR_ASSIGN" "$vm" "$d/in.xml" >"$d/out.xml" 2>"$d/assign.err"; then
    result FAIL "$c devaddr-rejects" "devaddr assigned addresses to it"
    return
  fi
  sed 's/^/  devaddr: /' "$d/assign.err"
  result PASS "$c devaddr-rejects"
  [ -n "$clash" ] || return
  if [ -n "$standin" ]; then
    result SKIP "$c names-both" "stand-in: libvirt names only the address"
    return
  fi
  missing=""
  for dev in $clash; do
    grep -qF -- "$dev" "$d/assign.err" || missing="$missing $dev"
  done
  if [ -z "$missing" ]; then result PASS "$c names-both" "$clash"
  else result FAIL "$c names-both" "error does not name$missing"; fi
}

# (5) hotplug with a Linux guest that completes unplug requests
count_live() { # VM XPATH -> how many such elements the running domain has
  $V dumpxml "$1" | xmllint --xpath "count($2)" -
}

# "TYPE ADDRESS" of a device element's <address>, as devaddrd prints it
element_address() { # FILE
  t=$(xmllint --xpath 'string(/*/address/@type)' "$1" 2>/dev/null)
  case $t in
    pci)
      set -- $(xmllint --xpath 'concat(/*/address/@domain, " ", /*/address/@bus, " ", /*/address/@slot, " ", /*/address/@function)' "$1")
      [ $# -eq 4 ] && printf 'pci %04x:%02x:%02x.%x\n' "$1" "$2" "$3" "$4" ;;
    usb)
      xmllint --xpath 'concat("usb ", /*/address/@bus, ":", /*/address/@port)' "$1"; echo ;;
    drive)
      xmllint --xpath 'concat("drive-scsi ", /*/address/@controller, ":", /*/address/@bus, ":", /*/address/@target, ":", /*/address/@unit)' "$1"; echo ;;
  esac
}

# device.attach, then libvirt plugs it in; sets hp_addr and hp_alias (the
# reservation's name, asked of devaddrd)
hp_attach() { # NAME DEV
  name=$1 dev=$2 hp_addr="" hp_alias=""
  $V dumpxml "$vm" >"$d/dom-$name.xml"
  if ! run_tpl "$DEVADDR_ATTACH" "$vm" "$dev" "$d/dom-$name.xml" >"$d/$name.xml" 2>"$d/$name.err"; then
    sed 's/^/  /' "$d/$name.err"
    result FAIL "$c $name" "device.attach failed"; return 1
  fi
  hp_addr=$(element_address "$d/$name.xml")
  if [ -z "$hp_addr" ]; then
    result FAIL "$c $name" "device.attach gave no address"; return 1
  fi
  if ! $V attach-device "$vm" "$d/$name.xml" --live >/dev/null 2>"$d/$name-live.err"; then
    sed 's/^/  /' "$d/$name-live.err"
    result FAIL "$c $name" "libvirt refused $hp_addr"; return 1
  fi
  if [ -n "$DEVADDRCTL" ]; then
    hp_alias=$(ctl "--json lookup '$vm' $hp_addr" 2>/dev/null | awk -f "$lib/reservations.awk" | awk '{ print $1; exit }')
    if [ -z "$hp_alias" ]; then
      result FAIL "$c $name" "devaddrd holds nothing at $hp_addr"; return 1
    fi
  fi
  result PASS "$c $name" "at $hp_addr${hp_alias:+, $hp_alias}"
}

# unplug from the running guest and wait until libvirt has removed it
# (the guest acknowledges a PCI unplug; USB and SCSI unplugs are at once)
hp_unplug() { # NAME DEV XPATH N0
  $V detach-device "$vm" "$2" --live >/dev/null 2>"$d/$1-unplug.err" || {
    sed 's/^/  /' "$d/$1-unplug.err"; result FAIL "$c $1" "virsh detach-device failed"; return 1; }
  i=0
  while [ "$(count_live "$vm" "$3")" != "$4" ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
  if [ "$(count_live "$vm" "$3")" != "$4" ]; then
    result FAIL "$c $1" "the device is still there after 30 s"; return 1
  fi
}

# after a release devaddrd no longer knows the name (devaddrctl exits 2)
hp_gone() { # NAME
  [ -n "$DEVADDRCTL" ] || { result SKIP "$c $1-gone" "no DEVADDRCTL"; return; }
  ctl "lookup '$vm' '$hp_alias'" >"$d/$1-lookup.out" 2>&1
  lookup_rc=$?
  if [ $lookup_rc -eq 2 ]; then result PASS "$c $1-gone" "lookup $hp_alias: not found"
  else sed 's/^/  /' "$d/$1-lookup.out"; result FAIL "$c $1-gone" "lookup $hp_alias exited $lookup_rc, not 2"; fi
}

# the whole round for one device: attach, unplug, release, gone
hp_round() { # NAME DEV XPATH
  n0=$(count_live "$vm" "$3")
  hp_attach "$1" "$2" || return 1
  hp_unplug "$1-detach" "$d/$1.xml" "$3" "$n0" || return 1
  if run_tpl "$DEVADDR_DETACH" "$vm" "$d/$1.xml" >/dev/null 2>"$d/$1-release.err"; then
    result PASS "$c $1-detach" "released $hp_addr"
  else
    sed 's/^/  /' "$d/$1-release.err"
    result FAIL "$c $1-detach" "device.detach failed"; return 1
  fi
  hp_gone "$1"
}

# two phases: begin while libvirt unplugs (the address stays held), confirm
# once the device is gone
hp_round_two_phase() { # NAME DEV XPATH
  if [ -z "$DEVADDRCTL" ]; then result SKIP "$c $1" "no DEVADDRCTL for a two-phase detach"; return; fi
  n0=$(count_live "$vm" "$3")
  hp_attach "$1" "$2" || return 1
  if ! ctl "detach --begin '$vm' '$d/$1.xml'" >"$d/$1-begin.out" 2>&1 ||
     ! ctl "lookup '$vm' '$hp_alias'" >"$d/$1-held.out" 2>&1 || ! grep -q releasing "$d/$1-held.out"; then
    cat "$d/$1-begin.out" "$d/$1-held.out" | sed 's/^/  /'
    result FAIL "$c $1-begin" "not held as releasing after detach --begin"; return 1
  fi
  result PASS "$c $1-begin" "$hp_alias releasing, $hp_addr still held"
  hp_unplug "$1-confirm" "$d/$1.xml" "$3" "$n0" || return 1
  if ctl "detach --confirm '$vm' '$d/$1.xml'" >"$d/$1-confirm.out" 2>&1; then
    result PASS "$c $1-confirm" "released $hp_addr"
  else
    sed 's/^/  /' "$d/$1-confirm.out"
    result FAIL "$c $1-confirm" "detach --confirm failed"; return 1
  fi
  hp_gone "$1"
}

run_hotplug() { # FILE
  f=$1 c=hotplug/$(basename "$1" .xml)
  d=$tmp/hotplug-$(basename "$1" .xml) vm=devaddr-e2e-hp-$(basename "$1" .xml)
  mkdir -p "$d"
  echo "== $c"
  prepare "$f" "$vm" "$d/plain.xml" || { result FAIL "$c attach"; return; }
  # boot the guest kernel; its serial console says when it is up
  sed -e "s|\(<type [^>]*>hvm</type>\)|\1<kernel>$GUEST_DIR/vmlinuz</kernel><initrd>$GUEST_DIR/initrd.gz</initrd><cmdline>console=ttyS0 quiet</cmdline>|" \
      -e "s|<memory unit=\"MiB\">[0-9]*</memory>|<memory unit=\"MiB\">160</memory>|" \
      -e "s|<devices>|<devices><serial type=\"file\"><source path=\"$d/console.log\"/></serial>|" \
      "$d/plain.xml" >"$d/in.xml"
  if ! run_tpl "$DEVADDR_ASSIGN" "$vm" "$d/in.xml" >"$d/out.raw" 2>"$d/assign.err" ||
     ! xsltproc --stringparam name "$vm" "$lib/rewrite.xsl" "$d/out.raw" >"$d/out.xml" ||
     ! define_vm "$vm" "$d/out.xml" 2>"$d/define.err" ||
     ! $V start "$vm" >/dev/null 2>"$d/start.err"; then
    cat "$d"/*.err | sed 's/^/  /'
    result FAIL "$c attach" "guest did not start"
    drop_vm "$vm"; return
  fi
  i=0
  until grep -q 'devaddr-e2e guest up' "$d/console.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 240 ] && break
    sleep 0.5
  done
  [ $i -gt 240 ] && echo "  guest did not report in 120 s; trying anyway"

  # a NIC: attached, released, attached again and released in two phases,
  # then once more: the address after those is accepted too
  echo "<interface type='user'><model type='virtio'/></interface>" >"$d/in-nic.xml"
  nics=/domain/devices/interface
  hp_round nic1 "$d/in-nic.xml" $nics &&
    hp_round_two_phase nic2 "$d/in-nic.xml" $nics &&
    hp_attach nic3 "$d/in-nic.xml"
  # a USB device takes a port, and gives it back
  echo "<input type='tablet' bus='usb'/>" >"$d/in-tablet.xml"
  hp_round usb "$d/in-tablet.xml" "/domain/devices/input[@bus='usb']"
  # a SCSI controller (on q35 a legacy one: the NICs had the spare root
  # port), then a disk on it, which is unplugged again
  if [ "$(machine_of "$d/in.xml")" = q35 ]; then model=lsilogic; else model=virtio-scsi; fi
  echo "<controller type='scsi' model='$model'/>" >"$d/in-scsi.xml"
  qemu-img create -q -f qcow2 "$imgdir/$(basename "$d")-sda.qcow2" 1M
  cat >"$d/in-disk.xml" <<DISK
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$imgdir/$(basename "$d")-sda.qcow2'/><target dev='sda' bus='scsi'/></disk>
DISK
  hp_attach scsi "$d/in-scsi.xml" &&
    hp_round scsi-disk "$d/in-disk.xml" "/domain/devices/disk[target/@dev='sda']"
  drop_vm "$vm"
}

# ------------------------------------------------------------------
start=$(date +%s)
echo "run-e2e: libvirt $($V version 2>/dev/null | sed -n 's/^Using library: libvirt //p'), assigner: $([ -n "$standin" ] && echo "libvirt stand-in" || echo "$DEVADDR_ASSIGN")"
if [ $# -gt 0 ]; then
  cases=""
  for c in "$@"; do cases="$cases $here/domains/$c.xml"; done
else
  cases=$(ls "$here"/domains/*.xml "$here"/domains/noboot/*.xml "$here"/domains/clash/*.xml \
             "$here"/domains/reject/*.xml)
fi
for f in $cases; do
  [ -f "$f" ] || { result FAIL "$(basename "$f" .xml)" "no such case"; continue; }
  case $f in
    */clash/*) run_reject "$f" clash ;;
    */reject/*) run_reject "$f" reject ;;
    *) run_case "$f" ;;
  esac
done

if [ -n "$HOTPLUG_CASES" ]; then
  sh "$lib/build-guest.sh" "$GUEST_DIR"
  guest_rc=$?
  for hc in $HOTPLUG_CASES; do
    if [ $guest_rc -eq 0 ]; then run_hotplug "$here/domains/$hc.xml"
    else result SKIP "hotplug/$hc" "no guest kernel (build-guest.sh exited $guest_rc)"; fi
  done
fi

echo "== agreement with libvirt's own assignment"
for m in pc q35; do
  eval "a=\$agree_$m t=\$total_$m"
  [ "$t" -gt 0 ] || continue
  pct=$(awk -v a="$a" -v t="$t" 'BEGIN { printf "%.1f", a * 100 / t }')
  eval "goal=\$AGREE_$(echo $m | tr a-z A-Z)"
  echo "$m: $a/$t devices agree ($pct%, goal $goal%)"
  if awk -v a="$a" -v t="$t" -v g="$goal" 'BEGIN { exit !(a * 100 >= g * t) }'; then
    result PASS "agreement $m" "$pct%"
  else
    result FAIL "agreement $m" "$pct% < $goal%"
  fi
done
ta=$((agree_pc + agree_q35)) tt=$((total_pc + total_q35))
[ $tt -gt 0 ] && echo "total: $ta/$tt devices agree ($(awk -v a=$ta -v t=$tt 'BEGIN { printf "%.1f", a * 100 / t }')%)"
echo "run-e2e: $(($(date +%s) - start)) s"
echo "$npass passed, $nfail failed, $nskip skipped"
[ $nfail -gt 0 ] && exit 1
[ $npass -eq 0 ] && exit 77
exit 0
