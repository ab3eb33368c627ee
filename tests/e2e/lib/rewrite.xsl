<?xml version="1.0"?>
<!-- Copy a domain XML, changing only what the e2e suite needs changed:
       name   (param, if not empty) replaces <name>; <uuid> is dropped so
              the copy never collides with another definition
       strip  '1': drop every device's own <address> child (not the
              <address> inside <source>, which is a host address) -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:param name="name" select="''"/>
  <xsl:param name="strip" select="'0'"/>
  <xsl:output method="xml" omit-xml-declaration="yes"/>

  <xsl:template match="@*|node()">
    <xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>
  </xsl:template>

  <xsl:template match="/domain/name">
    <xsl:choose>
      <xsl:when test="$name != ''"><name><xsl:value-of select="$name"/></name></xsl:when>
      <xsl:otherwise><xsl:copy-of select="."/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="/domain/uuid">
    <xsl:if test="$name = ''"><xsl:copy-of select="."/></xsl:if>
  </xsl:template>

  <xsl:template match="/domain/devices/*/address">
    <xsl:if test="$strip != '1'"><xsl:copy-of select="."/></xsl:if>
  </xsl:template>
</xsl:stylesheet>
