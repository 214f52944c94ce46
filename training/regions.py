"""The region of a UN delegation (ISO3 code), for the datasheet's counts per region.

Regions are the UN's five regional groups (African; Asia-Pacific; Eastern European; Latin
American and Caribbean; Western European and Others), as the delegations sat in the General
Assembly; former states (the USSR is RUS in the corpus, CSK, DDR, YUG, YMD) take their group.

Example:
    >>> region_of("CUB")
    'Latin America and Caribbean'
"""

from __future__ import annotations

AFRICA = "Africa"
ASIA_PACIFIC = "Asia-Pacific"
EASTERN_EUROPE = "Eastern Europe"
LATIN_AMERICA = "Latin America and Caribbean"
WEOG = "Western Europe and Others"

_GROUPS = {
    AFRICA: """AGO BDI BEN BFA BWA CAF CIV CMR COD COG COM CPV DJI DZA EGY ERI ETH GAB GHA GIN GMB
        GNB GNQ KEN LBR LBY LSO MAR MDG MLI MOZ MRT MUS MWI NAM NER NGA RWA SDN SEN SLE SOM SSD
        STP SWZ SYC TCD TGO TUN TZA UGA ZAF ZMB ZWE""",
    ASIA_PACIFIC: """AFG ARE BGD BHR BRN BTN CHN CYP FJI IDN IND IRN IRQ JOR JPN KAZ KGZ KHM KIR KOR
        KWT LAO LBN LKA MDV MHL MMR MNG MYS NPL NRU OMN PAK PHL PLW PNG PRK PSE QAT SAU SGP SLB
        SYR THA TJK TKM TLS TON TUV UZB VNM VUT WSM YEM YMD""",
    EASTERN_EUROPE: """ALB ARM AZE BGR BIH BLR CSK CZE DDR EST GEO HRV HUN LTU LVA MDA MKD MNE
        POL ROU RUS SRB SVK SVN UKR YUG""",
    LATIN_AMERICA: """ARG ATG BHS BLZ BOL BRA BRB CHL COL CRI CUB DMA DOM ECU GRD GTM GUY HND HTI
        JAM KNA LCA MEX NIC PAN PER PRY SLV SUR TTO URY VCT VEN""",
    WEOG: """AND AUS AUT BEL CAN CHE DEU DNK ESP EU FIN FRA GBR GRC IRL ISL ISR ITA LIE LUX MLT
        NLD NOR NZL PRT SMR SWE TUR USA VAT""",
}
REGION_OF = {code: group for group, codes in _GROUPS.items() for code in codes.split()}


def region_of(speaker: str | None, source: str = "ungd") -> str:
    """The regional group of a UN delegation; US presidents are the United States' group."""
    if source == "presidential":
        return WEOG
    return REGION_OF.get(str(speaker), "unknown")
