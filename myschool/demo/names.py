"""Built-in name lists for the demo school and the usernames made from them."""

from __future__ import annotations

import unicodedata

# Built-in name lists, deliberately international; the accented ones (José, Zoë, Müller, Ångström …)
# all fold to plain a–z under NFKD, which usernames and a later accent-folding search rely on.
# fmt: off
FEMALE_GIVEN_NAMES = (
    "Ada", "Aisha", "Alba", "Alice", "Amara", "Amelia", "Ana", "Anna", "Aoife", "Ayşe", "Beatriz", "Camille",
    "Charlotte", "Chiara", "Chloé", "Clara", "Daniela", "Elena", "Elif", "Eliza", "Ella", "Emily", "Emma", "Eva",
    "Florence", "Freya", "Grace", "Hana", "Hannah", "Harriet", "Hélène", "Imogen", "Inès", "Isabel", "Isla",
    "Jasmine", "Julia", "Lara", "Laura", "Layla", "Léa", "Leah", "Lily", "Lucía", "Maëlle", "Matilda", "Maya",
    "Mei", "Mia", "Nadia", "Naomi", "Noémie", "Nora", "Olivia", "Priya", "Renée", "Rosa", "Ruby", "Sara", "Sofia",
    "Sophie", "Yasmin", "Zara", "Zoë",
)
MALE_GIVEN_NAMES = (
    "Adam", "Alan", "Alexander", "Ali", "Amir", "André", "Arjun", "Arthur", "Benjamin", "Björn", "Carlos",
    "Charles", "Ciarán", "Daniel", "David", "Diego", "Dmitri", "Elias", "Emil", "Ethan", "Felix", "Finn",
    "François", "Gabriel", "George", "Hamza", "Harry", "Henry", "Hugo", "Isaac", "Jack", "Jakob", "James", "Joël",
    "Jonas", "José", "Joshua", "Jürgen", "Kai", "Kenji", "Leo", "Liam", "Luca", "Lucas", "Mateo", "Max",
    "Mohammed", "Nikolai", "Noah", "Oliver", "Omar", "Oscar", "Oskar", "Pablo", "Patrick", "Rafael", "Raphaël",
    "Ravi", "Rory", "Samuel", "Sebastián", "Theo", "Thomas", "Tomás", "William", "Yusuf", "Zoltán",
)
FAMILY_NAMES = (
    "Åberg", "Adeyemi", "Ahmed", "Ali", "Andersson", "Ångström", "Bakker", "Becker", "Bianchi", "Bonnet",
    "Brown", "Byrne", "Campbell", "Chen", "Clarke", "Costa", "Curie", "Davies", "de Vries", "Demir", "Dubois",
    "Dvořák", "Edwards", "Eriksson", "Evans", "Fernández", "Ferreira", "Fischer", "Fraser", "García", "Girard",
    "Gonçalves", "González", "Green", "Haddad", "Hall", "Hansen", "Harris", "Hernández", "Hopper", "Horváth",
    "Hughes", "Ionescu", "Ivanov", "Jackson", "Jansen", "Jensen", "Johansson", "Johnson", "Jones", "Karlsson",
    "Kaya", "Kelly", "Khan", "Kim", "Köhler", "Kovács", "Kowalski", "Lefèvre", "Lewis", "Li", "Lindström",
    "López", "Lovelace", "MacDonald", "Mansour", "Martínez", "Mensah", "Mercier", "Meyer", "Moreau", "Müller",
    "Murphy", "Nagy", "Nguyen", "Nielsen", "Nilsson", "Noether", "Novák", "Nowak", "Núñez", "O'Brien",
    "O'Connor", "Okafor", "Oliveira", "Osei", "Öztürk", "Papadopoulos", "Park", "Patel", "Pereira", "Pérez",
    "Petrov", "Popescu", "Reid", "Ricci", "Roberts", "Robinson", "Rodríguez", "Romano", "Rossi", "Russo", "Ryan",
    "Sánchez", "Santos", "Sato", "Schäfer", "Schmidt", "Schneider", "Silva", "Singh", "Smith", "Sokolov",
    "Stewart", "Suzuki", "Szabó", "Tanaka", "Taylor", "Thomas", "Turing", "van Dijk", "Visser", "Wagner",
    "Walker", "Walsh", "Wang", "Weber", "White", "Williams", "Wilson", "Wiśniewski", "Wood", "Wright", "Zhang",
)
# fmt: on


def username_base(given_name: str, family_name: str) -> str:
    """``José`` ``Müller`` → ``jose.muller``: accents folded, only a–z and 0–9 around one dot."""
    return f"{_fold(given_name)}.{_fold(family_name)}"


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())
