"""Reference vocabularies for the sample-data generator (``kaohe.generate``).

Kept apart from the generator so that its code stays readable: Chinese surnames and given-name
characters (with pinyin, for e-mail addresses), cities, GB/T 2260 province codes weighted by
population, mobile prefixes, course catalogues and complaint texts. Nothing here is random; the
generator draws from these lists with its own seeded generator (names and ID numbers are put
together in ``people``).
"""

from __future__ import annotations

# The most common surnames, most frequent first (frequency falls roughly as 1/rank), with pinyin.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("姚", "yao"), ("卢", "lu"), ("姜", "jiang"), ("崔", "cui"),
    ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("金", "jin"),
    ("石", "shi"), ("廖", "liao"), ("贾", "jia"), ("夏", "xia"), ("韦", "wei"), ("付", "fu"),
    ("方", "fang"), ("白", "bai"), ("邹", "zou"), ("孟", "meng"), ("熊", "xiong"), ("秦", "qin"),
    ("邱", "qiu"), ("江", "jiang"), ("尹", "yin"), ("薛", "xue"), ("闫", "yan"), ("段", "duan"),
    ("雷", "lei"), ("侯", "hou"), ("龙", "long"), ("史", "shi"), ("陶", "tao"), ("黎", "li"),
    ("贺", "he"), ("顾", "gu"), ("毛", "mao"), ("郝", "hao"), ("龚", "gong"), ("邵", "shao"),
    ("万", "wan"), ("钱", "qian"), ("严", "yan"), ("覃", "qin"), ("武", "wu"), ("戴", "dai"),
    ("莫", "mo"), ("孔", "kong"), ("向", "xiang"), ("汤", "tang"),
    # Two-character surnames exist but are rare: they stay at the tail of the distribution.
    ("欧阳", "ouyang"), ("司马", "sima"), ("上官", "shangguan"), ("诸葛", "zhuge"),
)

# Characters common in given names (one or two of them make a given name), with pinyin.
GIVEN_CHARS: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("英", "ying"), ("华", "hua"),
    ("玉", "yu"), ("兰", "lan"), ("萍", "ping"), ("红", "hong"), ("建", "jian"), ("文", "wen"),
    ("辉", "hui"), ("力", "li"), ("鹏", "peng"), ("宇", "yu"), ("浩", "hao"), ("婷", "ting"),
    ("雪", "xue"), ("琳", "lin"), ("晨", "chen"), ("欣", "xin"), ("佳", "jia"), ("怡", "yi"),
    ("子", "zi"), ("梓", "zi"), ("涵", "han"), ("轩", "xuan"), ("博", "bo"), ("思", "si"),
    ("雨", "yu"), ("嘉", "jia"), ("俊", "jun"), ("凯", "kai"), ("昊", "hao"), ("瑞", "rui"),
    ("天", "tian"), ("志", "zhi"), ("海", "hai"), ("国", "guo"), ("庆", "qing"), ("春", "chun"),
    ("燕", "yan"), ("慧", "hui"), ("颖", "ying"), ("倩", "qian"), ("晓", "xiao"), ("琴", "qin"),
    ("云", "yun"), ("飞", "fei"), ("斌", "bin"), ("亮", "liang"), ("成", "cheng"), ("峰", "feng"),
    ("东", "dong"), ("波", "bo"), ("宁", "ning"), ("丹", "dan"), ("蕾", "lei"), ("璐", "lu"),
    ("阳", "yang"), ("鑫", "xin"), ("旭", "xu"), ("晶", "jing"), ("琪", "qi"), ("永", "yong"),
    ("德", "de"), ("坤", "kun"), ("楠", "nan"), ("帅", "shuai"), ("健", "jian"), ("振", "zhen"),
    ("彬", "bin"), ("可", "ke"), ("诗", "shi"), ("语", "yu"), ("悦", "yue"), ("晴", "qing"),
)

# Cities where lenders run collection centres (lower-cost second-tier cities first).
SITES: tuple[str, ...] = ("长沙", "成都", "武汉", "西安", "合肥", "郑州", "南昌", "重庆")

# GB/T 2260 province-level codes with the 2020 census population (millions) as draw weight.
PROVINCES: tuple[tuple[str, str, float], ...] = (
    ("110000", "北京", 21.9), ("120000", "天津", 13.9), ("130000", "河北", 74.6),
    ("140000", "山西", 34.9), ("150000", "内蒙古", 24.0), ("210000", "辽宁", 42.6),
    ("220000", "吉林", 24.1), ("230000", "黑龙江", 31.9), ("310000", "上海", 24.9),
    ("320000", "江苏", 84.7), ("330000", "浙江", 64.6), ("340000", "安徽", 61.0),
    ("350000", "福建", 41.5), ("360000", "江西", 45.2), ("370000", "山东", 101.5),
    ("410000", "河南", 99.4), ("420000", "湖北", 57.8), ("430000", "湖南", 66.4),
    ("440000", "广东", 126.0), ("450000", "广西", 50.1), ("460000", "海南", 10.1),
    ("500000", "重庆", 32.1), ("510000", "四川", 83.7), ("520000", "贵州", 38.6),
    ("530000", "云南", 47.2), ("540000", "西藏", 3.6), ("610000", "陕西", 39.5),
    ("620000", "甘肃", 25.0), ("630000", "青海", 5.9), ("640000", "宁夏", 7.2),
    ("650000", "新疆", 25.9),
)

# Mobile number prefixes of the three carriers (all match 1[3-9]x).
PHONE_PREFIXES: tuple[int, ...] = (
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 145, 147, 150, 151, 152, 153, 155, 156,
    157, 158, 159, 166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188,
    189, 191, 198, 199,
)

CHINESE_DIGITS: tuple[str, ...] = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")

# Mandatory courses rotate by calendar quarter (Q1..Q4): the article names personal-information
# protection and anti-fraud models as the annual mandatory content.
MANDATORY_TOPICS: tuple[str, ...] = ("PIPL", "ANTIFRAUD", "COMPLIANT-COLLECTION", "CONSUMER-RIGHTS")
ELECTIVE_COURSES: tuple[str, ...] = (
    "ELEC-NEGOTIATION", "ELEC-PSYCHOLOGY", "ELEC-CIVIL-LAW", "ELEC-EXCEL", "ELEC-MANDARIN",
)

# Complaint texts by category (contract order: harassment, abusive_language,
# third_party_disclosure, privacy_leak, fee_dispute, other). Some carry ASCII commas and quotes so
# that the CSV needs quoting.
COMPLAINT_TEXTS: tuple[tuple[str, ...], ...] = (
    (
        "催收人员一天之内打了十几次电话，严重影响正常工作和生活。",
        "晚上十点多还在打电话催款，家里老人孩子都被吵醒了。",
        "早上七点就开始打电话, 要求立即停止骚扰。",
        "同一天被不同号码轮番呼叫，手机根本没法用。",
    ),
    (
        "催收员在电话中辱骂我，说话非常难听，态度极其恶劣。",
        '对方说"再不还钱就让你好看"，还说了很多侮辱性的话。',
        "电话里威胁要上门，并用脏话骂人，要求严肃处理。",
    ),
    (
        "催收员给我的同事和亲戚打电话，透露我欠款的事情。",
        "联系了我单位领导，导致我在公司非常难堪。",
        "打电话给我父母说我欠钱不还, 老人受了很大刺激。",
    ),
    (
        "我的身份证号和欠款信息被发给了通讯录里的好友。",
        "有人拿着我的个人信息在微信群里催款，严重侵犯隐私。",
    ),
    (
        "逾期罚息和违约金计算有误，要求重新核算并退还多收费用。",
        "已经按时还款但系统仍显示逾期，要求减免相关费用。",
        "服务费收取不透明，合同里没有写明。",
    ),
    (
        "希望协商分期还款，但一直联系不上客服。",
        "要求提供还款凭证和结清证明。",
        "对催收流程有疑问，希望有专人回复。",
    ),
)
COMPLAINT_SUFFIXES: tuple[str, ...] = (
    "请尽快处理！",
    "已向监管部门反映。",
    "如不处理将向12378热线投诉。",
    "希望给个说法。",
    "",
    "",
)
# Free text arrives as typed by the complainant: markup must be escaped by whoever renders it.
COMPLAINT_MARKUP: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<b>紧急</b>",
    '<a href="http://example.com/x">截图</a>',
    "&lt;转发&gt; & 附件",
    "<img src=x onerror=alert(2)>",
)
