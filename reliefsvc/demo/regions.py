"""Kangle County (康乐县, Linxia, Gansu): its 15 townships and about 150 villages.

Township names and seats are the real ones, their positions approximate (to about a
kilometre); village names are made up and their positions scattered within a few
kilometres of their township seat, so that distances and travel speeds come out the way
they would on the ground.
"""

from __future__ import annotations

import math

from reliefsvc.extensions import db
from reliefsvc.regions.models import Level, Region

COUNTY_CODE = "622922"
COUNTY = ("康乐县", 35.3720, 103.7090)
#: The county civil-affairs bureau, in the county seat.
BUREAU_OFFICE = (35.3706, 103.7112)

TOWNSHIPS = [
    # code suffix, name, lat, lon, villages
    ("100", "附城镇", 35.3700, 103.7080, 12),
    ("101", "苏集镇", 35.4160, 103.7520, 11),
    ("102", "胭脂镇", 35.3290, 103.6780, 10),
    ("103", "景古镇", 35.2230, 103.6210, 10),
    ("104", "莲麓镇", 35.1330, 103.6240, 10),
    ("200", "虎关乡", 35.3400, 103.6000, 9),
    ("201", "流川乡", 35.4680, 103.6930, 10),
    ("202", "上湾乡", 35.2840, 103.7420, 10),
    ("203", "八松乡", 35.2580, 103.8010, 9),
    ("204", "五户乡", 35.3190, 103.8190, 10),
    ("205", "康丰乡", 35.4010, 103.6630, 10),
    ("206", "白王乡", 35.4410, 103.6030, 9),
    ("207", "草滩乡", 35.1900, 103.7020, 10),
    ("208", "鸣鹿乡", 35.2330, 103.5520, 10),
    ("209", "八丹乡", 35.2920, 103.5800, 10),
]

_FIRST = "马李王张杨韩苏何祁石白红新胡丁沙鲁郭赵陈安卜金刘周"
_SECOND = "家集湾沟坪川滩山庄岭台寨坡峡塬河堡"
_THIRD = ["", "上", "下", "中", "东", "西", "南", "北", "前", "后"]


def _village_names(rng, count: int, used: set[str]) -> list[str]:
    names = []
    while len(names) < count:
        name = rng.choice(_THIRD) + rng.choice(_FIRST) + rng.choice(_SECOND) + "村"
        if name not in used:
            used.add(name)
            names.append(name)
    return names


def _offset(lat: float, lon: float, km_north: float, km_east: float) -> tuple[float, float]:
    return (round(lat + km_north / 111.32, 6),
            round(lon + km_east / (111.32 * math.cos(math.radians(lat))), 6))


def step(ctx):
    rng = ctx.rng
    county = Region(code=COUNTY_CODE, name=COUNTY[0], level=Level.COUNTY, lat=COUNTY[1], lon=COUNTY[2],
                    office_lat=BUREAU_OFFICE[0], office_lon=BUREAU_OFFICE[1])
    db.session.add(county)
    used: set[str] = set()
    townships, villages = [], []
    for suffix, name, lat, lon, n in TOWNSHIPS:
        township = Region(code=f"{COUNTY_CODE}{suffix}", name=name, level=Level.TOWNSHIP, parent=county,
                          lat=lat, lon=lon, office_lat=lat, office_lon=lon)
        db.session.add(township)
        townships.append(township)
        for i, village_name in enumerate(_village_names(rng, n, used), start=1):
            # 1.5 to 7 km from the township seat, in any direction
            distance, bearing = rng.uniform(1.5, 7.0), rng.uniform(0, 2 * math.pi)
            v_lat, v_lon = _offset(lat, lon, distance * math.cos(bearing), distance * math.sin(bearing))
            village = Region(code=f"{COUNTY_CODE}{suffix}{200 + i:03d}", name=village_name,
                             level=Level.VILLAGE, parent=township, lat=v_lat, lon=v_lon)
            db.session.add(village)
            villages.append(village)
    ctx.made.update(county=county, townships=townships, villages=villages)
