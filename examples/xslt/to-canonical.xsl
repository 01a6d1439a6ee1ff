<?xml version="1.0" encoding="UTF-8"?>
<!-- lmcgw example: the national declaration (national-decl.xsd) to the canonical form (urn:lmcgw:canonical:1). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:n="urn:example:national:decl:1" xmlns="urn:lmcgw:canonical:1" exclude-result-prefixes="n">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="/n:ExportDeclaration">
    <consignment>
      <kind>declaration</kind>
      <type_code>EX</type_code>
      <lrn><xsl:value-of select="n:Reference"/></lrn>
      <xsl:if test="n:UCR"><ucr><xsl:value-of select="n:UCR"/></ucr></xsl:if>
      <xsl:if test="n:Date"><issued_at><xsl:value-of select="n:Date"/></issued_at></xsl:if>
      <export_country><xsl:value-of select="n:Exporter/n:Country"/></export_country>
      <destination_country><xsl:value-of select="n:Destination"/></destination_country>
      <declared_items><xsl:value-of select="count(n:Line)"/></declared_items>
      <parties>
        <xsl:apply-templates select="n:Exporter|n:Consignee"/>
      </parties>
      <items>
        <xsl:for-each select="n:Line">
          <item>
            <sequence><xsl:value-of select="n:No"/></sequence>
            <hs_code><xsl:value-of select="n:HS"/></hs_code>
            <description><xsl:value-of select="n:Description"/></description>
            <xsl:if test="n:GrossKg"><gross_weight><value><xsl:value-of select="n:GrossKg"/></value><unit>KGM</unit></gross_weight></xsl:if>
            <xsl:if test="n:NetKg"><net_weight><value><xsl:value-of select="n:NetKg"/></value><unit>KGM</unit></net_weight></xsl:if>
          </item>
        </xsl:for-each>
      </items>
    </consignment>
  </xsl:template>
  <xsl:template match="n:Exporter|n:Consignee">
    <party>
      <role><xsl:value-of select="translate(local-name(), 'EC', 'ec')"/></role>
      <xsl:if test="n:TIN"><id><xsl:value-of select="n:TIN"/></id></xsl:if>
      <name><xsl:value-of select="n:Name"/></name>
      <address><country><xsl:value-of select="n:Country"/></country></address>
    </party>
  </xsl:template>
</xsl:stylesheet>
