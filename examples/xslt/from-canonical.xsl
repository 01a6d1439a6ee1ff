<?xml version="1.0" encoding="UTF-8"?>
<!-- lmcgw example: the canonical form (urn:lmcgw:canonical:1) to the national declaration (national-decl.xsd).
     Whatever it does not write is reported by the gateway as a lossy_field warning. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:c="urn:lmcgw:canonical:1" xmlns="urn:example:national:decl:1" exclude-result-prefixes="c">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="/c:consignment">
    <ExportDeclaration>
      <Reference><xsl:value-of select="c:lrn"/></Reference>
      <xsl:if test="c:ucr"><UCR><xsl:value-of select="c:ucr"/></UCR></xsl:if>
      <xsl:if test="c:issued_at"><Date><xsl:value-of select="substring(c:issued_at, 1, 10)"/></Date></xsl:if>
      <xsl:apply-templates select="c:parties/c:party[c:role='exporter'][1]"/>
      <xsl:apply-templates select="c:parties/c:party[c:role='consignee'][1]"/>
      <Destination><xsl:value-of select="c:destination_country"/></Destination>
      <xsl:for-each select="c:items/c:item">
        <Line>
          <No><xsl:value-of select="c:sequence"/></No>
          <HS><xsl:value-of select="c:hs_code"/></HS>
          <Description><xsl:value-of select="c:description"/></Description>
          <xsl:if test="c:net_weight/c:unit='KGM'"><NetKg><xsl:value-of select="c:net_weight/c:value"/></NetKg></xsl:if>
          <xsl:if test="c:gross_weight/c:unit='KGM'"><GrossKg><xsl:value-of select="c:gross_weight/c:value"/></GrossKg></xsl:if>
        </Line>
      </xsl:for-each>
    </ExportDeclaration>
  </xsl:template>
  <xsl:template match="c:party">
    <xsl:element name="{concat(translate(substring(c:role, 1, 1), 'ec', 'EC'), substring(c:role, 2))}">
      <Name><xsl:value-of select="c:name"/></Name>
      <xsl:if test="c:id"><TIN><xsl:value-of select="c:id"/></TIN></xsl:if>
      <Country><xsl:value-of select="c:address/c:country"/></Country>
    </xsl:element>
  </xsl:template>
</xsl:stylesheet>
