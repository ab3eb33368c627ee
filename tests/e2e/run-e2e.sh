#!/bin/sh
# End-to-end proof of devaddr's domain.assign against real libvirt + QEMU.
#
#   run-e2e.sh [CASE...]        CASE = a corpus file name without .xml
#
# For every domain in domains/*.xml:
#   (1) define  libvirt accepts devaddr's output as is, and dumpxml
#               --inactive shows exactly devaddr's addresses, no others
#   (2) boot    it starts under TCG and QEMU's device tree (info qtree)
#               and `info pci` put every device where devaddr said
#   (3) agree   given the same input without any <address>, libvirt's own
#               assignment equals devaddr's, device by device (per case, per
#               machine type against E2E_AGREE_PC / E2E_AGREE_Q35 percent)
# For every domain in domains/clash/*.xml and domains/reject/*.xml:
#   (4) reject  libvirt refuses it with the message the file names in its
#               "expect-error:" line, and so does devaddr; for clashes
#               devaddr's error must name both devices of the "clash:" line
# For the domains in E2E_HOTPLUG_CASES, with a small Linux guest running:
#   (5) hotplug device.attach, then `virsh attach-device --live`; detach
#               completes and is released; the next attach is accepted
#
# devaddr is plugged in with command templates (run by sh -c):
#   DEVADDR_ASSIGN  '... {vm} {in}'  prints the domain XML of file {in}
#                   with every address filled in; non-zero exit and an
#                   error on stderr when it refuses the input
#   DEVADDR_ATTACH  '... {vm} {dev} {dom}'  prints device XML {dev} with its
#                   address; {dom} is the running domain's current XML
#   DEVADDR_DETACH  '... {vm} {dev}'  releases the address of {dev}
# Unset, libvirt's own assignment stands in (libvirt-reference.sh assign,
# lib/standin-attach.sh), which validates the harness: agreement is 100%.
#
# Other environment: LIBVIRT_URI (qemu:///system), E2E_NO_SETUP=1 (do not
# run setup-libvirt.sh), E2E_BOOT=0 (skip (2)), E2E_HOTPLUG_CASES,
# E2E_GUEST_DIR (cache for the hotplug guest), E2E_KEEP=1 (keep the temp
# dir), E2E_VERBOSE=1 (print agreeing devices too).
#
# Exit status as automake: 0 all passed, 1 something failed, 77 skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/lib
ref=$here/libvirt-reference.sh
URI=${LIBVIRT_URI:-qemu:///system}
export LIBVIRT_URI="$URI"
V="virsh -q -c $URI"

if [ "$(id -u)" -ne 0 ]; then
  echo "run-e2e: SKIP: needs root to run libvirtd and QEMU"
  exit 77
fi
for t in xsltproc xmllint awk; do
  command -v $t >/dev/null 2>&1 || [ "${E2E_NO_SETUP:-0}" != 1 ] || {
    echo "run-e2e: SKIP: $t not found"; exit 77; }
done
if [ "${E2E_NO_SETUP:-0}" != 1 ]; then
  sh "$here/setup-libvirt.sh"
  rc=$?
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
AGREE_PC=${E2E_AGREE_PC:-100}
AGREE_Q35=${E2E_AGREE_Q35:-95}
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
  case $1 in
    PASS) npass=$((npass + 1)) ;;
    FAIL) nfail=$((nfail + 1)) ;;
    SKIP) nskip=$((nskip + 1)) ;;
  esac
  echo "$1: $2${3:+ ($3)}"
}

# run a command template with {vm} {in} {dev} {dom} filled in
run_tpl() { # TEMPLATE VM FILE [DOM]
  cmd=$(printf '%s' "$1" | sed -e "s|{vm}|$2|g" -e "s|{in}|'$3'|g" \
                               -e "s|{dev}|'$3'|g" -e "s|{dom}|'${4:-}'|g")
  sh -c "$cmd"
}

canon() { "$ref" canon "$1"; }

# the corpus file with images made and its name set to VM
prepare() { # SRC VM DEST
  for img in $(grep -o "@IMGDIR@/[^'\"]*" "$1" | sed 's|@IMGDIR@/||'); do
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
    if [ "$busdec" -eq 0 ]; then
      s=$(printf '%d' "0x${sf%.*}") f=${sf#*.}
      grep -q "^$alias 0 $s $f\$" "$d/infopci.ids" || {
        echo "  ! $key ($alias): info pci does not show it at bus 0 slot $s function $f"
        bad=$((bad + 1)); }
    fi
  done <"$want"
  [ $bad -eq 0 ] && echo "  $seen PCI devices where devaddr put them"
  return $bad
}

agree_pc=0 total_pc=0 agree_q35=0 total_q35=0

run_case() { # FILE
  f=$1 c=$(basename "$1" .xml)
  d=$tmp/$c vm=devaddr-e2e-$c
  mkdir -p "$d"
  echo "== $c: $(sed -n 's/^<!-- \(.*\) -->$/\1/p' "$f" | head -n 1)"
  prepare "$f" "$vm" "$d/in.xml" || { result FAIL "$c define" "cannot prepare"; return; }

  # (1) define devaddr's output as is
  if ! run_tpl "$DEVADDR_ASSIGN" "$vm" "$d/in.xml" >"$d/out.raw" 2>"$d/assign.err"; then
    sed 's/^/  /' "$d/assign.err"
    result FAIL "$c define" "devaddr refused the input"
    result FAIL "$c boot" "nothing to boot"
  else
    xsltproc --stringparam name "$vm" "$lib/rewrite.xsl" "$d/out.raw" >"$d/out.xml"
    canon "$d/out.xml" >"$d/out.canon"
    if ! define_vm "$vm" "$d/out.xml" 2>"$d/define.err"; then
      sed 's/^/  /' "$d/define.err"
      result FAIL "$c define" "libvirt refused devaddr's output"
      result FAIL "$c boot" "not defined"
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
      # (2) boot under TCG and look into QEMU
      if [ "${E2E_BOOT:-1}" = 0 ]; then
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
interfaces() { $V dumpxml "$1" | xmllint --xpath 'count(/domain/devices/interface)' -; }

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
  echo "<interface type='user'><model type='virtio'/></interface>" >"$d/dev.xml"
  n0=$(interfaces "$vm")
  for round in 1 2; do
    $V dumpxml "$vm" >"$d/dom$round.xml"
    if ! run_tpl "$DEVADDR_ATTACH" "$vm" "$d/dev.xml" "$d/dom$round.xml" \
         >"$d/dev$round.xml" 2>"$d/attach$round.err"; then
      sed 's/^/  /' "$d/attach$round.err"
      result FAIL "$c attach$round" "device.attach failed"; break
    fi
    addr=$(xmllint --xpath 'concat(/*/address/@bus, ":", /*/address/@slot, ".", /*/address/@function)' "$d/dev$round.xml" 2>/dev/null)
    if [ "$addr" = ":." ] || [ -z "$addr" ]; then
      result FAIL "$c attach$round" "device.attach gave no PCI address"; break
    fi
    if ! $V attach-device "$vm" "$d/dev$round.xml" --live >/dev/null 2>"$d/live$round.err"; then
      sed 's/^/  /' "$d/live$round.err"
      result FAIL "$c attach$round" "libvirt refused $addr"; break
    fi
    result PASS "$c attach$round" "at $addr"
    [ $round -eq 2 ] && break
    # detach; the guest acknowledges the unplug, then the address is released
    $V detach-device "$vm" "$d/dev$round.xml" --live >/dev/null 2>"$d/detach.err"
    i=0
    while [ "$(interfaces "$vm")" != "$n0" ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
    if [ "$(interfaces "$vm")" != "$n0" ]; then
      result FAIL "$c detach" "the device is still there after 30 s"; break
    fi
    if run_tpl "$DEVADDR_DETACH" "$vm" "$d/dev$round.xml" >/dev/null 2>"$d/release.err"; then
      result PASS "$c detach" "released $addr"
    else
      sed 's/^/  /' "$d/release.err"
      result FAIL "$c detach" "device.detach failed"
    fi
  done
  drop_vm "$vm"
}

# ------------------------------------------------------------------
start=$(date +%s)
echo "run-e2e: libvirt $($V version 2>/dev/null | sed -n 's/^Using library: libvirt //p'), assigner: $([ -n "$standin" ] && echo "libvirt stand-in" || echo "$DEVADDR_ASSIGN")"
if [ $# -gt 0 ]; then
  cases=""
  for c in "$@"; do cases="$cases $here/domains/$c.xml"; done
else
  cases=$(ls "$here"/domains/*.xml "$here"/domains/clash/*.xml "$here"/domains/reject/*.xml)
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
  rc=$?
  for c in $HOTPLUG_CASES; do
    if [ $rc -eq 0 ]; then run_hotplug "$here/domains/$c.xml"
    else result SKIP "hotplug/$c" "no guest kernel (build-guest.sh exited $rc)"; fi
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
