"""Words of the synthetic shop, in English and Chinese: departments, aisles, products, brands, cities.

The catalogue is written once, bilingually, in a compact line format so that both languages stay
parallel (the same tree, the same price levels): every field is "english / 中文", and lists inside a
field are separated by ", ". `vocabulary(lang)` parses it into plain dataclasses for one language.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache

from shoprec.data.schema import CATEGORY_SEPARATOR

LANGUAGES = ("en", "zh")

# One department (top-level category): brands, materials and uses shared by its products, then
# one line per leaf: "aisle > leaf | median price (USD) | variant kind | nouns | adjectives | features".
_DEPARTMENTS: list[dict[str, object]] = [
    {
        "name": "Electronics / 数码",
        "brands": "Sonora, Voltix, Nexa, Pixelon, Arcwave, Lumio / 声悦, 极光, 小犀, 云帆, 星驰, 锐拓",
        "materials": "aluminium, ABS plastic, tempered glass, silicone / 铝合金机身, ABS塑料外壳, 钢化玻璃面板, 亲肤硅胶",
        "uses": "work and travel, gaming, the home office, the daily commute / 出差旅行, 游戏娱乐, 居家办公, 日常通勤",
        "leaves": [
            "Phones / 手机 > Smartphones / 手机 | 420 | capacity | smartphone, phone / 手机, 智能手机 | 5G, dual-SIM, flagship / 5G, 双卡, 旗舰 | triple camera, all-day battery, OLED screen / 三摄, 超长续航, OLED屏",
            "Phones / 手机 > Phone Cases / 手机壳 | 15 | color | phone case, cover / 手机壳, 保护壳 | shockproof, slim, transparent / 防摔, 超薄, 透明 | raised edges, MagSafe support, anti-yellowing / 全包边, 磁吸, 不发黄",
            "Phones / 手机 > Chargers / 充电器 | 25 | pack | charger, power bank / 充电器, 充电宝 | fast, compact, 65W / 快充, 便携, 65W | GaN technology, two USB-C ports, foldable plug / 氮化镓, 双USB-C口, 折叠插脚",
            "Audio / 音频 > Headphones / 耳机 | 80 | color | headphones, earbuds / 蓝牙耳机, 耳机 | wireless, over-ear, sports / 无线, 头戴式, 运动 | noise-cancelling, 30-hour battery, low latency / 降噪, 长续航, 低延迟",
            "Audio / 音频 > Speakers / 音箱 | 60 | color | bluetooth speaker, speaker / 蓝牙音箱, 音箱 | portable, waterproof, smart / 便携, 防水, 智能 | deep bass, 360-degree sound, voice assistant / 重低音, 360度环绕, 语音助手",
            "Computers / 电脑 > Laptops / 笔记本电脑 | 900 | capacity | laptop, notebook / 笔记本电脑, 轻薄本 | lightweight, 14-inch, gaming / 轻薄, 14英寸, 游戏 | long battery life, backlit keyboard, fast SSD / 长续航, 背光键盘, 高速固态硬盘",
            "Computers / 电脑 > Keyboards / 键盘 | 55 | color | keyboard, mechanical keyboard / 键盘, 机械键盘 | wireless, compact, RGB / 无线, 小巧, RGB | hot-swappable keys, quiet switches, USB-C charging / 热插拔, 静音轴, Type-C充电",
            "Computers / 电脑 > Mice / 鼠标 | 30 | color | mouse, gaming mouse / 鼠标, 游戏鼠标 | wireless, ergonomic, silent / 无线, 人体工学, 静音 | adjustable DPI, long battery, side buttons / 可调DPI, 长续航, 侧键",
            "Wearables / 穿戴 > Smartwatches / 智能手表 | 200 | color | smartwatch, fitness tracker / 智能手表, 运动手环 | waterproof, GPS, slim / 防水, GPS, 轻薄 | heart-rate monitor, sleep tracking, 7-day battery / 心率监测, 睡眠监测, 7天续航",
        ],
    },
    {
        "name": "Fashion / 服饰",
        "brands": "Maren & Co, Urbanthread, Velle, Northloom, Kestrel, Solenne / 衣尚, 素颜, 森屿, 北织, 南风, 悦步",
        "materials": "cotton, linen, wool blend, recycled polyester / 纯棉面料, 亚麻面料, 羊毛混纺, 再生聚酯纤维",
        "uses": "everyday wear, the office, weekends away, evenings out / 日常穿搭, 通勤上班, 周末出游, 约会聚会",
        "leaves": [
            "Women / 女装 > Dresses / 连衣裙 | 45 | size | dress, midi dress / 连衣裙, 长裙 | floral, summer, elegant / 碎花, 夏季, 法式 | a flattering cut, hidden pockets, breathable fabric / 显瘦, 隐形口袋, 透气",
            "Women / 女装 > Blouses / 衬衫 | 35 | size | blouse, shirt / 衬衫, 雪纺衫 | silk, loose, classic / 真丝, 宽松, 经典 | easy care, a relaxed fit, pearl buttons / 免烫, 宽松版型, 珍珠扣",
            "Men / 男装 > T-Shirts / T恤 | 20 | size | t-shirt, tee / T恤, 短袖 | cotton, oversized, basic / 纯棉, 宽松, 基础款 | a soft hand feel, no shrink, reinforced collar / 柔软亲肤, 不缩水, 加固领口",
            "Men / 男装 > Jeans / 牛仔裤 | 50 | size | jeans, denim / 牛仔裤, 直筒裤 | slim, straight, stretch / 修身, 直筒, 弹力 | five pockets, a washed finish, a stretch waist / 五袋款, 水洗做旧, 弹力腰",
            "Men / 男装 > Jackets / 夹克 | 90 | size | jacket, windbreaker / 夹克, 外套 | waterproof, lightweight, hooded / 防水, 轻薄, 连帽 | taped seams, a packable hood, zip pockets / 压胶防水, 可收纳帽, 拉链口袋",
            "Shoes / 鞋靴 > Sneakers / 运动鞋 | 75 | size | sneakers, trainers / 运动鞋, 休闲鞋 | breathable, white, retro / 透气, 小白, 复古 | a cushioned sole, non-slip grip, a mesh upper / 缓震, 防滑, 网面",
            "Shoes / 鞋靴 > Boots / 靴子 | 110 | size | boots, ankle boots / 靴子, 短靴 | leather, waterproof, chunky / 真皮, 防水, 厚底 | a warm lining, a side zip, a grippy sole / 加绒, 侧拉链, 防滑底",
            "Bags / 箱包 > Backpacks / 双肩包 | 55 | color | backpack, rucksack / 双肩包, 背包 | laptop, travel, water-resistant / 电脑, 旅行, 防泼水 | a padded laptop sleeve, USB port, hidden pocket / 电脑隔层, USB充电口, 防盗口袋",
            "Bags / 箱包 > Handbags / 手提包 | 85 | color | handbag, tote bag / 手提包, 托特包 | leather, mini, everyday / 真皮, 迷你, 百搭 | an adjustable strap, magnetic closure, roomy inside / 可调肩带, 磁扣, 大容量",
        ],
    },
    {
        "name": "Home & Kitchen / 家居厨房",
        "brands": "Hearthly, Casa Nova, Oakridge, Kitchara, Nestwell, Brume / 家和, 木语, 厨乐, 暖居, 简宅, 安眠",
        "materials": "stainless steel, solid oak, ceramic, organic cotton / 不锈钢, 实木, 陶瓷, 有机棉",
        "uses": "family meals, small flats, cosy evenings, gifting / 家庭聚餐, 小户型, 居家休闲, 送礼",
        "leaves": [
            "Kitchen / 厨具 > Cookware / 锅具 | 60 | pack | frying pan, saucepan / 炒锅, 不粘锅 | non-stick, cast iron, induction / 不粘, 铸铁, 电磁炉通用 | an even heat base, a cool-touch handle, dishwasher safe / 受热均匀, 防烫手柄, 可洗碗机清洗",
            "Kitchen / 厨具 > Knives / 刀具 | 40 | pack | chef knife, knife set / 菜刀, 刀具套装 | Japanese, forged, razor-sharp / 日式, 锻打, 锋利 | a full tang, a balanced grip, a gift box / 一体成型, 手感平衡, 礼盒装",
            "Kitchen / 厨具 > Coffee Makers / 咖啡机 | 150 | color | coffee machine, espresso maker / 咖啡机, 意式咖啡机 | automatic, compact, barista / 全自动, 小型, 家用 | a milk frother, 15-bar pressure, one-touch brewing / 打奶泡, 15bar压力, 一键萃取",
            "Bedding / 床品 > Pillows / 枕头 | 30 | pack | pillow, memory foam pillow / 枕头, 记忆棉枕 | orthopaedic, cooling, hotel / 护颈, 凉感, 酒店 | a washable cover, medium firmness, hypoallergenic filling / 可拆洗, 软硬适中, 防螨",
            "Bedding / 床品 > Duvets / 被子 | 70 | size | duvet, quilt / 被子, 羽绒被 | all-season, down, lightweight / 四季, 羽绒, 轻盈 | warm without weight, corner ties, a cotton shell / 轻暖, 四角固定, 全棉面料",
            "Decor / 家饰 > Lamps / 台灯 | 45 | color | table lamp, desk lamp / 台灯, 护眼灯 | LED, dimmable, minimalist / LED, 可调光, 简约 | eye-care light, a touch switch, warm white tones / 护眼无频闪, 触摸开关, 暖光",
            "Decor / 家饰 > Candles / 香薰蜡烛 | 20 | pack | scented candle, candle / 香薰蜡烛, 蜡烛 | soy, scented, relaxing / 大豆蜡, 香氛, 助眠 | a 40-hour burn, a cotton wick, a glass jar / 40小时燃烧, 棉芯, 玻璃杯装",
        ],
    },
    {
        "name": "Sports & Outdoors / 运动户外",
        "brands": "Trailpeak, Stridex, Corefit, Alpenwild, Pacer, Summitline / 飞跃, 山野, 跃动, 行者, 极限, 轻羽",
        "materials": "nylon, TPE foam, carbon fibre, ripstop polyester / 尼龙, TPE材料, 碳纤维, 防撕裂涤纶",
        "uses": "home workouts, marathon training, weekend hikes, family camping / 居家健身, 马拉松训练, 周末徒步, 家庭露营",
        "leaves": [
            "Fitness / 健身 > Yoga Mats / 瑜伽垫 | 30 | color | yoga mat, exercise mat / 瑜伽垫, 健身垫 | non-slip, thick, eco-friendly / 防滑, 加厚, 环保 | alignment lines, a carry strap, sweat resistance / 体位线, 附背带, 防汗",
            "Fitness / 健身 > Dumbbells / 哑铃 | 50 | pack | dumbbells, adjustable dumbbell / 哑铃, 可调节哑铃 | adjustable, rubber-coated, hex / 可调节, 包胶, 六角 | quick weight change, a knurled grip, floor protection / 快速调重, 防滑握把, 保护地板",
            "Running / 跑步 > Running Shoes / 跑步鞋 | 95 | size | running shoes, racing flats / 跑步鞋, 跑鞋 | lightweight, carbon-plate, trail / 轻量, 碳板, 越野 | springy cushioning, a reflective trim, a breathable upper / 回弹缓震, 反光条, 透气鞋面",
            "Running / 跑步 > Water Bottles / 运动水壶 | 18 | volume | water bottle, sports bottle / 运动水壶, 保温杯 | insulated, leak-proof, BPA-free / 保温, 防漏, 无BPA | 24-hour cold, a one-hand lid, a wide mouth / 24小时保冷, 单手开盖, 大口径",
            "Camping / 露营 > Tents / 帐篷 | 160 | pack | tent, dome tent / 帐篷, 露营帐篷 | 4-person, instant, waterproof / 四人, 速开, 防雨 | a pop-up frame, a rainfly, good ventilation / 自动速开, 防雨外帐, 通风透气",
            "Camping / 露营 > Sleeping Bags / 睡袋 | 70 | color | sleeping bag, mummy bag / 睡袋, 户外睡袋 | 3-season, compact, down / 三季, 便携, 羽绒 | a draft collar, a compression sack, a two-way zip / 防风领, 压缩袋, 双向拉链",
        ],
    },
    {
        "name": "Beauty / 美妆个护",
        "brands": "Lumiere, Dewy, Purea, Velvetine, Botanica, Skinsmith / 花漾, 水润, 颜究, 雪肌, 草本集, 丝语",
        "materials": "hyaluronic acid, shea butter, natural extracts, vitamin C / 玻尿酸, 乳木果油, 植物精华, 维生素C",
        "uses": "sensitive skin, daily routines, dry winter days, travel / 敏感肌, 日常护理, 秋冬干燥, 旅行",
        "leaves": [
            "Skincare / 护肤 > Face Cream / 面霜 | 35 | volume | face cream, moisturiser / 面霜, 保湿霜 | hydrating, anti-ageing, light / 补水, 抗老, 清爽 | 48-hour moisture, no fragrance, a non-greasy finish / 48小时保湿, 无香精, 不油腻",
            "Skincare / 护肤 > Cleansers / 洗面奶 | 15 | volume | cleanser, face wash / 洗面奶, 洁面乳 | gentle, foaming, amino-acid / 温和, 泡沫, 氨基酸 | a low pH, deep cleansing, no tightness / 弱酸性, 深层清洁, 不紧绷",
            "Skincare / 护肤 > Sunscreen / 防晒霜 | 20 | volume | sunscreen, sun cream / 防晒霜, 防晒乳 | SPF50, waterproof, tinted / SPF50, 防水, 隔离 | broad-spectrum protection, no white cast, reef-safe filters / 广谱防护, 不泛白, 温和配方",
            "Makeup / 彩妆 > Lipstick / 口红 | 22 | color | lipstick, lip tint / 口红, 唇釉 | matte, long-lasting, velvet / 哑光, 持久, 丝绒 | rich colour, no transfer, a moisturising formula / 显色, 不沾杯, 滋润",
            "Makeup / 彩妆 > Foundation / 粉底液 | 38 | color | foundation, cushion / 粉底液, 气垫 | full-coverage, dewy, oil-control / 遮瑕, 水光, 控油 | a natural finish, 24-hour wear, SPF protection / 自然妆感, 持妆24小时, 含防晒",
            "Hair Care / 洗护 > Shampoo / 洗发水 | 12 | volume | shampoo, conditioner / 洗发水, 护发素 | sulfate-free, volumising, anti-dandruff / 无硅油, 蓬松, 去屑 | a fresh scent, colour protection, a salon finish / 清香, 护色, 柔顺",
            "Hair Care / 洗护 > Hair Dryers / 吹风机 | 80 | color | hair dryer, blow dryer / 吹风机, 电吹风 | ionic, foldable, quiet / 负离子, 可折叠, 静音 | fast drying, three heat settings, a diffuser nozzle / 速干, 三档温控, 扩散风嘴",
        ],
    },
    {
        "name": "Toys & Games / 玩具",
        "brands": "Brickly, Playnest, Wonderbox, Tinker Town, Jollyjoy, Kiddo / 乐趣, 童心, 积趣, 萌宝, 益智堂, 小熊家",
        "materials": "ABS plastic, FSC wood, soft plush, recycled card / ABS塑料, 环保木材, 柔软毛绒, 再生纸板",
        "uses": "kids aged 6+, family game nights, birthday gifts, rainy afternoons / 6岁以上儿童, 家庭游戏夜, 生日礼物, 亲子时光",
        "leaves": [
            "Building Toys / 积木 > Building Sets / 积木套装 | 50 | pack | building set, brick set / 积木, 拼装积木 | creative, city, technic / 创意, 城市, 机械 | 500 pieces, illustrated instructions, compatible bricks / 500颗粒, 图纸说明, 兼容大牌",
            "Board Games / 桌游 > Board Games / 桌游 | 35 | pack | board game, card game / 桌游, 卡牌游戏 | strategy, party, cooperative / 策略, 聚会, 合作 | 2-6 players, 30-minute rounds, easy rules / 2-6人, 30分钟一局, 规则简单",
            "Board Games / 桌游 > Puzzles / 拼图 | 20 | pack | jigsaw puzzle, puzzle / 拼图, 益智拼图 | 1000-piece, landscape, wooden / 1000片, 风景, 木质 | a poster guide, thick pieces, a snug fit / 附参考图, 加厚拼片, 咬合紧密",
            "Plush / 毛绒玩具 > Teddy Bears / 毛绒熊 | 25 | color | teddy bear, plush toy / 毛绒熊, 毛绒玩具 | soft, giant, cuddly / 柔软, 超大, 可爱 | safety-stitched eyes, machine washable, a gift bag / 安全缝制, 可机洗, 礼品袋",
        ],
    },
    {
        "name": "Grocery / 食品饮料",
        "brands": "Golden Harvest, Nutty Co, Bean & Leaf, Olivio, Crispin, Morning Mill / 田园, 坚果派, 茶香, 橄榄园, 脆脆, 晨谷",
        "materials": "organic ingredients, whole grains, single-origin beans, cold-pressed olives / 有机原料, 全谷物, 单一产地咖啡豆, 冷榨橄榄",
        "uses": "the pantry, office snacking, breakfast, gift hampers / 家庭囤货, 办公室零食, 早餐, 节日礼盒",
        "leaves": [
            "Snacks / 零食 > Chips / 薯片 | 4 | pack | potato chips, crisps / 薯片, 薯条 | sea-salt, baked, spicy / 海盐, 烘焙, 香辣 | no artificial colours, a family size, a resealable bag / 无人工色素, 家庭装, 密封袋",
            "Snacks / 零食 > Nuts / 坚果 | 12 | pack | mixed nuts, almonds / 坚果, 每日坚果 | roasted, unsalted, premium / 烘焙, 原味, 精选 | daily portions, a high protein content, fresh roasting / 独立小包, 高蛋白, 新鲜烘焙",
            "Drinks / 饮料 > Coffee / 咖啡 | 16 | pack | coffee beans, ground coffee / 咖啡豆, 挂耳咖啡 | dark-roast, arabica, decaf / 深烘, 阿拉比卡, 低因 | chocolate notes, a freshness valve, fair trade / 巧克力风味, 单向排气阀, 公平贸易",
            "Drinks / 饮料 > Tea / 茶叶 | 14 | pack | green tea, tea bags / 绿茶, 茶包 | loose-leaf, jasmine, oolong / 散装, 茉莉, 乌龙 | spring harvest, a tin caddy, a fresh aroma / 明前采摘, 铁罐装, 清香",
            "Pantry / 粮油 > Olive Oil / 橄榄油 | 15 | volume | olive oil, extra virgin olive oil / 橄榄油, 特级初榨橄榄油 | extra-virgin, organic, Spanish / 特级初榨, 有机, 西班牙进口 | cold extraction, a dark glass bottle, low acidity / 冷榨工艺, 避光玻璃瓶, 低酸度",
            "Pantry / 粮油 > Rice / 大米 | 10 | pack | rice, jasmine rice / 大米, 香米 | fragrant, long-grain, new-crop / 香软, 长粒, 新米 | fluffy texture, vacuum packed, a single origin / 软糯, 真空包装, 产地直发",
        ],
    },
    {
        "name": "Pet Supplies / 宠物用品",
        "brands": "Pawsome, Whiskerly, Barkley, FurFriend, Petlia, Tailwag / 毛孩, 喵星, 汪星, 宠爱, 萌宠, 爪爪",
        "materials": "real chicken, natural clay, plush fleece, sisal rope / 鲜鸡肉, 天然膨润土, 加厚绒布, 剑麻绳",
        "uses": "puppies, indoor cats, senior dogs, multi-pet homes / 幼犬, 室内猫, 老年犬, 多宠家庭",
        "leaves": [
            "Dogs / 狗狗 > Dog Food / 狗粮 | 45 | pack | dog food, kibble / 狗粮, 全价犬粮 | grain-free, high-protein, small-breed / 无谷, 高蛋白, 小型犬 | real meat first, added probiotics, no fillers / 鲜肉为主, 添加益生菌, 无诱食剂",
            "Dogs / 狗狗 > Dog Beds / 狗窝 | 40 | size | dog bed, dog cushion / 狗窝, 宠物垫 | orthopaedic, washable, calming / 护脊, 可拆洗, 安抚 | a non-slip base, raised edges, a removable cover / 防滑底, 高边设计, 可拆外套",
            "Cats / 猫咪 > Cat Litter / 猫砂 | 18 | pack | cat litter, clumping litter / 猫砂, 豆腐猫砂 | clumping, dust-free, unscented / 结团, 无尘, 无香 | odour control, flushable clumps, low tracking / 除臭, 可冲厕所, 不带砂",
            "Cats / 猫咪 > Cat Toys / 猫玩具 | 10 | pack | cat toy, cat wand / 猫玩具, 逗猫棒 | interactive, feather, catnip / 互动, 羽毛, 猫薄荷 | replaceable heads, a bell inside, durable stitching / 可替换头, 内置铃铛, 耐咬",
        ],
    },
]

# Variant values by kind; `_VARIANT_FORMAT` says how a value reads in a title.
_VARIANTS = {
    "color": "black, white, grey, navy, red, blue, green, pink, beige, silver / 黑色, 白色, 灰色, 藏青色, 红色, 蓝色, 绿色, 粉色, 米色, 银色",
    "size": "XS, S, M, L, XL, XXL / XS, S, M, L, XL, XXL",
    "capacity": "64GB, 128GB, 256GB, 512GB, 1TB / 64GB, 128GB, 256GB, 512GB, 1TB",
    "volume": "50ml, 100ml, 200ml, 500ml, 750ml / 50ml, 100ml, 200ml, 500ml, 750ml",
    "pack": "1, 2, 3, 4, 6 / 1, 2, 3, 4, 6",
}
_VARIANT_FORMAT = {
    "en": {"color": "{}", "size": "size {}", "capacity": "{}", "volume": "{}", "pack": "pack of {}"},
    "zh": {"color": "{}", "size": "{}码", "capacity": "{}", "volume": "{}", "pack": "{}件装"},
}
_CITIES = (
    "London, New York, Berlin, Paris, Madrid, Toronto, Sydney, Chicago, Manchester, Amsterdam, Dublin, Seattle, Boston, Austin, Munich"
    " / 上海, 北京, 广州, 深圳, 杭州, 成都, 重庆, 武汉, 南京, 西安, 苏州, 天津, 长沙, 郑州, 青岛"
)
# Description sentences; fields: brand, adjective, noun, feature, material, use, variant.
_SENTENCES = {
    "en": (
        "Made with {material}, ideal for {use}.",
        "This {adjective} {noun} comes with {feature}.",
        "A dependable pick from {brand} for {use}.",
        "Designed for {use}, with {feature}.",
        "Shoppers love its {feature} and the {variant} option.",
    ),
    "zh": (
        "采用{material}，适合{use}。",
        "这款{adjective}{noun}，{feature}。",
        "{brand}出品，{use}的可靠之选。",
        "专为{use}设计，{feature}。",
        "{variant}款式，{feature}，深受好评。",
    ),
}
# Prices in the vocabulary are in US dollars; a Chinese shop prices in yuan.
_PRICE_SCALE = {"en": 1.0, "zh": 7.0}


@dataclass(frozen=True)
class Leaf:
    """A leaf category: its full path and the words its products are made of."""

    path: str  # levels joined with schema.CATEGORY_SEPARATOR
    median_price: float
    variant_kind: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    features: tuple[str, ...]


@dataclass(frozen=True)
class Department:
    """A top-level category with its own brands, materials and uses."""

    name: str
    brands: tuple[str, ...]
    materials: tuple[str, ...]
    uses: tuple[str, ...]
    leaves: tuple[Leaf, ...]


@dataclass(frozen=True)
class Vocabulary:
    """Every word the generator needs for one language."""

    lang: str
    departments: tuple[Department, ...]
    variants: dict[str, tuple[str, ...]]
    cities: tuple[str, ...]
    sentences: tuple[str, ...]
    price_scale: float

    def variant_text(self, kind: str, value: str) -> str:
        """How a variant value reads in a title ('size M', 'M码')."""
        return _VARIANT_FORMAT[self.lang][kind].format(value)

    def title(self, brand: str, adjective: str, noun: str, feature: str, variant: str) -> str:
        """A product title: brand, adjective + noun, one feature, the variant."""
        if self.lang == "zh":
            # Chinese writes the adjective onto the noun ("无线蓝牙耳机"), features follow after a space.
            return f"{brand} {adjective}{noun} {feature} {variant}"
        return f"{brand} {string.capwords(adjective + ' ' + noun)} - {feature}, {variant}"

    def query(self, brand: str, adjective: str, noun: str, style: int) -> str:
        """A search a shopper might type for a product: noun, adjective + noun, or brand + noun."""
        if self.lang == "zh":
            return (noun, adjective + noun, brand + noun)[style % 3]
        return (noun, f"{adjective} {noun}", f"{brand} {noun}")[style % 3].lower()


def _split(field: object, lang: str) -> tuple[str, ...]:
    english, chinese = str(field).split(" / ")
    side = english if lang == "en" else chinese
    return tuple(word.strip() for word in side.split(", "))


def _leaf(line: str, department: str, lang: str) -> Leaf:
    path, price, kind, nouns, adjectives, features = (part.strip() for part in line.split(" | "))
    aisle, leaf = (_split(level, lang)[0] for level in path.split(" > "))
    return Leaf(
        path=CATEGORY_SEPARATOR.join((department, aisle, leaf)),
        median_price=float(price) * _PRICE_SCALE[lang],
        variant_kind=kind,
        nouns=_split(nouns, lang),
        adjectives=_split(adjectives, lang),
        features=_split(features, lang),
    )


@cache
def vocabulary(lang: str) -> Vocabulary:
    """The parsed vocabulary for "en" or "zh"."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}, expected one of {', '.join(LANGUAGES)}")
    departments = []
    for raw in _DEPARTMENTS:
        name = _split(raw["name"], lang)[0]
        leaves = tuple(_leaf(line, name, lang) for line in raw["leaves"])  # type: ignore[attr-defined]
        departments.append(
            Department(
                name=name,
                brands=_split(raw["brands"], lang),
                materials=_split(raw["materials"], lang),
                uses=_split(raw["uses"], lang),
                leaves=leaves,
            )
        )
    return Vocabulary(
        lang=lang,
        departments=tuple(departments),
        variants={kind: _split(values, lang) for kind, values in _VARIANTS.items()},
        cities=_split(_CITIES, lang),
        sentences=_SENTENCES[lang],
        price_scale=_PRICE_SCALE[lang],
    )
