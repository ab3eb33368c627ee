<?xml version="1.0"?>
<!-- Like addresses.xsl, but the middle column is the device's alias in a
     running domain (the QEMU id), '-' if it has none. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="addresses.xsl"/>
  <xsl:template match="*" mode="attrs">
    <xsl:choose>
      <xsl:when test="alias/@name"><xsl:value-of select="alias/@name"/></xsl:when>
      <xsl:otherwise>-</xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
