"""Short texts of known language, written for sluice's language benchmark.

Each language has a one-line text (where detectors err most), and a short paragraph. They
complement the corpora, which are nearly all English.
"""

from __future__ import annotations

__all__ = ["SAMPLES"]

SAMPLES: tuple[tuple[str, str], ...] = (
    ("en", "The council approved the new budget on Tuesday."),
    (
        "en",
        "Rail services between the two cities were suspended for most of the morning after a "
        "signal failure near the central station. Commuters were told to expect delays until "
        "the evening, and the operator apologised for the disruption.",
    ),
    ("fr", "Le conseil municipal a voté le nouveau budget mardi soir."),
    (
        "fr",
        "La circulation des trains entre les deux villes a été interrompue pendant une grande "
        "partie de la matinée à cause d'une panne de signalisation près de la gare centrale. "
        "Les voyageurs ont été prévenus que les retards dureraient jusqu'au soir.",
    ),
    ("de", "Der Stadtrat hat am Dienstag den neuen Haushalt beschlossen."),
    (
        "de",
        "Der Zugverkehr zwischen den beiden Städten war am Vormittag wegen einer Signalstörung "
        "in der Nähe des Hauptbahnhofs unterbrochen. Die Fahrgäste mussten sich bis zum Abend "
        "auf Verspätungen einstellen, teilte der Betreiber mit.",
    ),
    ("es", "El ayuntamiento aprobó el nuevo presupuesto el martes."),
    (
        "es",
        "El servicio de trenes entre las dos ciudades quedó suspendido durante buena parte de "
        "la mañana por una avería en la señalización cerca de la estación central. Los "
        "viajeros tuvieron que esperar retrasos hasta la noche.",
    ),
    ("it", "Il consiglio comunale ha approvato il nuovo bilancio martedì."),
    (
        "it",
        "La circolazione dei treni tra le due città è rimasta sospesa per gran parte della "
        "mattinata a causa di un guasto alla segnaletica vicino alla stazione centrale. I "
        "passeggeri hanno dovuto sopportare ritardi fino a sera.",
    ),
    ("pt", "A câmara municipal aprovou o novo orçamento na terça-feira."),
    (
        "pt",
        "A circulação de comboios entre as duas cidades esteve suspensa durante grande parte "
        "da manhã devido a uma avaria na sinalização perto da estação central. Os passageiros "
        "tiveram de contar com atrasos até ao fim do dia.",
    ),
    ("nl", "De gemeenteraad heeft dinsdag de nieuwe begroting goedgekeurd."),
    (
        "nl",
        "Het treinverkeer tussen de twee steden lag een groot deel van de ochtend stil door "
        "een seinstoring bij het centraal station. Reizigers moesten tot de avond rekening "
        "houden met vertragingen, meldde de vervoerder.",
    ),
    ("sv", "Kommunfullmäktige godkände den nya budgeten i tisdags."),
    (
        "sv",
        "Tågtrafiken mellan de två städerna stod still under större delen av förmiddagen på "
        "grund av ett signalfel nära centralstationen. Resenärerna fick räkna med förseningar "
        "fram till kvällen.",
    ),
    ("pl", "Rada miasta przyjęła we wtorek nowy budżet."),
    (
        "pl",
        "Ruch pociągów między dwoma miastami był wstrzymany przez większość poranka z powodu "
        "awarii sygnalizacji w pobliżu dworca centralnego. Podróżni musieli liczyć się z "
        "opóźnieniami aż do wieczora.",
    ),
    ("ru", "Городской совет во вторник утвердил новый бюджет."),
    (
        "ru",
        "Движение поездов между двумя городами было остановлено большую часть утра из-за "
        "неисправности сигнализации рядом с центральным вокзалом. Пассажирам пришлось "
        "мириться с задержками до самого вечера.",
    ),
    ("ja", "市議会は火曜日に新しい予算を承認した。"),
    (
        "ja",
        "中央駅付近の信号故障のため、二つの都市を結ぶ列車は午前中の大半にわたって運転を見合わせた。"
        "乗客は夕方まで遅れが続くと知らされた。",
    ),
    ("zh", "市议会周二批准了新的预算。"),
    (
        "zh",
        "由于中央车站附近的信号故障，两座城市之间的列车在上午大部分时间停运。"
        "乘客被告知延误将持续到晚上。",
    ),
)
