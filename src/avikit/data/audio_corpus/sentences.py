"""Sentences of the speech domain, composed from phrase lists the recipe ships, in six languages.

Each language has four lists: subjects, transitive verbs in the third person singular, objects in the
accusative, and endings (a time or place). Any choice of one phrase from each list is a grammatical sentence
("The old man carries a blue box near the river."), so a seeded generator composes thousands of distinct
sentences per language while the text stays plain words: no digits or abbreviations, whose spelling a speech
recogniser may choose freely. The phrases were written for this corpus (CC0-1.0).

Example:
    >>> import numpy as np
    >>> compose_sentence("en", np.random.default_rng(0), num_parts=4)
    'A tall woman watches the red car every day.'
"""

from __future__ import annotations

import numpy as np

from avikit.errors import UsageError

__all__ = ["LANGUAGES", "PHRASES", "compose_sentence"]

PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        (
            "the old man",
            "my sister",
            "a young girl",
            "the teacher",
            "our neighbor",
            "the small dog",
            "his brother",
            "the farmer",
            "a tall woman",
            "the little boy",
        ),
        ("carries", "finds", "paints", "cleans", "opens", "sells", "watches", "buys", "moves", "likes"),
        (
            "a blue box",
            "the green door",
            "a warm coat",
            "the heavy chair",
            "an old book",
            "the red car",
            "a wooden table",
            "the white house",
            "a new bicycle",
            "the black bag",
        ),
        (
            "in the morning",
            "near the river",
            "every day",
            "at night",
            "after lunch",
            "in the garden",
            "before dinner",
            "on the street",
            "by the window",
            "in the kitchen",
        ),
    ),
    "de": (
        (
            "der alte Mann",
            "meine Schwester",
            "ein junges Mädchen",
            "der Lehrer",
            "unser Nachbar",
            "der kleine Hund",
            "sein Bruder",
            "der Bauer",
            "eine große Frau",
            "der kleine Junge",
        ),
        ("trägt", "findet", "malt", "putzt", "öffnet", "verkauft", "sieht", "kauft", "bewegt", "mag"),
        (
            "eine blaue Kiste",
            "die grüne Tür",
            "einen warmen Mantel",
            "den schweren Stuhl",
            "ein altes Buch",
            "das rote Auto",
            "einen hölzernen Tisch",
            "das weiße Haus",
            "ein neues Fahrrad",
            "die schwarze Tasche",
        ),
        (
            "am Morgen",
            "am Fluss",
            "jeden Tag",
            "in der Nacht",
            "nach dem Essen",
            "im Garten",
            "vor dem Abendbrot",
            "auf der Straße",
            "am Fenster",
            "in der Küche",
        ),
    ),
    "fr": (
        (
            "le vieil homme",
            "ma sœur",
            "une jeune fille",
            "le professeur",
            "notre voisin",
            "le petit chien",
            "son frère",
            "le fermier",
            "une grande femme",
            "le petit garçon",
        ),
        ("porte", "trouve", "peint", "nettoie", "ouvre", "vend", "regarde", "achète", "déplace", "aime"),
        (
            "une boîte bleue",
            "la porte verte",
            "un manteau chaud",
            "la chaise lourde",
            "un vieux livre",
            "la voiture rouge",
            "une table en bois",
            "la maison blanche",
            "un vélo neuf",
            "le sac noir",
        ),
        (
            "le matin",
            "près de la rivière",
            "chaque jour",
            "la nuit",
            "après le déjeuner",
            "dans le jardin",
            "avant le dîner",
            "dans la rue",
            "près de la fenêtre",
            "dans la cuisine",
        ),
    ),
    "es": (
        (
            "el anciano",
            "mi hermana",
            "una niña",
            "el maestro",
            "nuestro vecino",
            "el perro pequeño",
            "su hermano",
            "el granjero",
            "una mujer alta",
            "el niño",
        ),
        ("lleva", "encuentra", "pinta", "limpia", "abre", "vende", "mira", "compra", "mueve", "quiere"),
        (
            "una caja azul",
            "la puerta verde",
            "un abrigo caliente",
            "la silla pesada",
            "un libro viejo",
            "el coche rojo",
            "una mesa de madera",
            "la casa blanca",
            "una bicicleta nueva",
            "la bolsa negra",
        ),
        (
            "por la mañana",
            "cerca del río",
            "cada día",
            "por la noche",
            "después de comer",
            "en el jardín",
            "antes de cenar",
            "en la calle",
            "junto a la ventana",
            "en la cocina",
        ),
    ),
    "it": (
        (
            "il vecchio",
            "mia sorella",
            "una ragazza",
            "il maestro",
            "il nostro vicino",
            "il cane piccolo",
            "suo fratello",
            "il contadino",
            "una donna alta",
            "il bambino",
        ),
        ("porta", "trova", "dipinge", "pulisce", "apre", "vende", "guarda", "compra", "sposta", "ama"),
        (
            "una scatola blu",
            "la porta verde",
            "un cappotto caldo",
            "la sedia pesante",
            "un libro vecchio",
            "la macchina rossa",
            "un tavolo di legno",
            "la casa bianca",
            "una bicicletta nuova",
            "la borsa nera",
        ),
        (
            "la mattina",
            "vicino al fiume",
            "ogni giorno",
            "di notte",
            "dopo pranzo",
            "in giardino",
            "prima di cena",
            "per la strada",
            "vicino alla finestra",
            "in cucina",
        ),
    ),
    "nl": (
        (
            "de oude man",
            "mijn zus",
            "een jong meisje",
            "de leraar",
            "onze buurman",
            "de kleine hond",
            "zijn broer",
            "de boer",
            "een lange vrouw",
            "de kleine jongen",
        ),
        (
            "draagt",
            "vindt",
            "schildert",
            "poetst",
            "opent",
            "verkoopt",
            "bekijkt",
            "koopt",
            "verplaatst",
            "ziet",
        ),
        (
            "een blauwe doos",
            "de groene deur",
            "een warme jas",
            "de zware stoel",
            "een oud boek",
            "de rode auto",
            "een houten tafel",
            "het witte huis",
            "een nieuwe fiets",
            "de zwarte tas",
        ),
        (
            "in de ochtend",
            "bij de rivier",
            "elke dag",
            "in de nacht",
            "na de lunch",
            "in de tuin",
            "voor het avondeten",
            "op straat",
            "bij het raam",
            "in de keuken",
        ),
    ),
}
"""Language code (espeak-ng's) -> (subjects, verbs, objects, endings)."""

LANGUAGES = tuple(PHRASES)
"""The corpus's languages: English, German, French, Spanish, Italian and Dutch."""


def compose_sentence(language: str, rng: np.random.Generator, num_parts: int = 4) -> str:
    """One sentence: subject, verb, object and, with ``num_parts == 4``, an ending; capitalised, a full stop.

    Args:
        language: one of :data:`LANGUAGES`.
        rng: the random stream (the same stream state gives the same sentence).
        num_parts: 3 (no ending, a shorter sentence) or 4.

    Raises:
        UsageError: an unknown language or ``num_parts`` not 3 or 4.
    """
    if language not in PHRASES:
        raise UsageError(f"unknown language {language!r}; the corpus speaks {', '.join(LANGUAGES)}")
    if num_parts not in (3, 4):
        raise UsageError(f"num_parts must be 3 or 4, got {num_parts}")
    parts = [lists[int(rng.integers(len(lists)))] for lists in PHRASES[language][:num_parts]]
    text = " ".join(parts)
    return text[0].upper() + text[1:] + "."
