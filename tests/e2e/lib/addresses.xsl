<?xml version="1.0"?>
<!-- Print one line per device of a libvirt domain XML:
       KEY<TAB>ATTRS<TAB>ADDRESS
     KEY names the device without using its address, so the same device
     in two XMLs (devaddr's output, libvirt's dumpxml) gets the same key:
       disk[target=vda]  controller[type=pci,index=1]
       input[type=tablet,bus=usb][1]  interface[3]  (nth of that kind)
       controller[type=usb,index=0,model=ich9-uhci1]  (when several
       controllers share a type and index: a USB2 companion set)
     ATTRS are the values an assigner fills in besides the address
     (controller model, pci controller chassis/port), '-' if none.
     ADDRESS is the <address> element's attributes as name=value pairs in
     document order, '-' when the device has none.  canon.awk turns the
     raw form into the canonical one. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:variable name="tab" select="'&#9;'"/>

  <xsl:template match="/">
    <xsl:for-each select="/domain/devices/*[self::disk or self::controller or
        self::interface or self::input or self::sound or self::video or
        self::hostdev or self::watchdog or self::memballoon or self::rng or
        self::channel or self::console or self::serial or self::parallel or
        self::hub or self::redirdev or self::smartcard or self::filesystem or
        self::shmem or self::memory or self::vsock or self::tpm or
        self::panic or self::iommu or self::crypto]">
      <xsl:apply-templates select="." mode="key"/>
      <xsl:value-of select="$tab"/>
      <xsl:apply-templates select="." mode="attrs"/>
      <xsl:value-of select="$tab"/>
      <xsl:choose>
        <xsl:when test="address">
          <xsl:for-each select="address/@*">
            <xsl:if test="position() &gt; 1"><xsl:text> </xsl:text></xsl:if>
            <xsl:value-of select="concat(name(), '=', .)"/>
          </xsl:for-each>
        </xsl:when>
        <xsl:otherwise>-</xsl:otherwise>
      </xsl:choose>
      <xsl:text>&#10;</xsl:text>
    </xsl:for-each>
  </xsl:template>

  <!-- keys -->
  <xsl:template match="disk" mode="key">
    <xsl:value-of select="concat('disk[target=', target/@dev, ']')"/>
  </xsl:template>
  <xsl:template match="controller" mode="key">
    <xsl:variable name="t" select="@type"/>
    <xsl:variable name="i" select="@index"/>
    <xsl:value-of select="concat('controller[type=', $t, ',index=', $i)"/>
    <!-- the controllers of a USB2 companion set share one index -->
    <xsl:if test="count(../controller[@type = $t and @index = $i]) &gt; 1">
      <xsl:value-of select="concat(',model=', @model)"/>
    </xsl:if>
    <xsl:text>]</xsl:text>
  </xsl:template>
  <xsl:template match="input" mode="key">
    <xsl:variable name="t" select="@type"/>
    <xsl:variable name="b" select="@bus"/>
    <xsl:value-of select="concat('input[type=', $t, ',bus=', $b, '][',
        count(preceding-sibling::input[@type = $t and @bus = $b]) + 1, ']')"/>
  </xsl:template>
  <xsl:template match="memballoon|vsock|iommu" mode="key">
    <xsl:value-of select="name()"/>
  </xsl:template>
  <xsl:template match="*" mode="key">
    <xsl:variable name="n" select="name()"/>
    <xsl:value-of select="concat($n, '[',
        count(preceding-sibling::*[name() = $n]) + 1, ']')"/>
  </xsl:template>

  <!-- assigned attributes other than the address -->
  <xsl:template match="controller" mode="attrs">
    <xsl:choose>
      <xsl:when test="@model">
        <xsl:value-of select="concat('model=', @model)"/>
      </xsl:when>
      <xsl:otherwise>-</xsl:otherwise>
    </xsl:choose>
    <xsl:for-each select="target/@chassisNr|target/@chassis|target/@port|target/@busNr">
      <xsl:value-of select="concat(' ', name(), '=', .)"/>
    </xsl:for-each>
  </xsl:template>
  <xsl:template match="memballoon|video" mode="attrs">
    <xsl:value-of select="concat('model=', @model, model/@type)"/>
  </xsl:template>
  <xsl:template match="*" mode="attrs">-</xsl:template>
</xsl:stylesheet>
