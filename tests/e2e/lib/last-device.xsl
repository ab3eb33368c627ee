<?xml version="1.0"?>
<!-- Print the last device element named $kind of a domain XML: after an
     attach, that is the device libvirt just added. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:param name="kind"/>
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:template match="/">
    <xsl:copy-of select="/domain/devices/*[name() = $kind][last()]"/>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
