"""What the console says of states, actions and pending steps: catalogue msgids, translated
where they are shown (bridge.i18n)."""

from __future__ import annotations

from bridge.domain.accounts import RequiredAction
from bridge.domain.console import Action, State
from bridge.i18n import N_

STATES = {
    State.PROVISIONED: N_("Créé, jamais activé"),
    State.WAITING: N_("En attente d'activation"),
    State.ACTIVE: N_("Activé"),
    State.EXPIRED: N_("Expiré"),
    State.RESET: N_("Réinitialisé par le personnel, en attente d'activation"),
    State.DISABLED: N_("Désactivé"),
    State.ANONYMISED: N_("Anonymisé (identifiant conservé, jamais réattribué)"),
}

# What the history says an action did.
DONE = {
    Action.RESET: N_("Compte réinitialisé"),
    Action.SET_RESCUE_EMAIL: N_("Adresse de secours définie"),
    Action.SEND_ACTIVATION_MAIL: N_("Mail d'activation envoyé"),
    Action.ISSUE_ACTIVATION_KEY: N_("Clé d'activation délivrée"),
    Action.REENABLE: N_("Compte réactivé"),
    Action.SHOW_RESCUE_EMAIL: N_("Adresse de secours affichée"),
    Action.ANONYMISE: N_("Compte anonymisé"),
}

# What the buttons and confirmation pages say.
LABELS = {
    Action.RESET: N_("Réinitialiser le compte"),
    Action.SET_RESCUE_EMAIL: N_("Définir l'adresse de secours"),
    Action.SEND_ACTIVATION_MAIL: N_("Envoyer le mail d'activation"),
    Action.ISSUE_ACTIVATION_KEY: N_("Délivrer une clé d'activation"),
    Action.REENABLE: N_("Réactiver le compte"),
    Action.SHOW_RESCUE_EMAIL: N_("Afficher l'adresse de secours"),
    Action.ANONYMISE: N_("Anonymiser"),
}

# What the student still has to do at the next sign-in.
PENDING = {
    RequiredAction.SET_PASSWORD: N_("choisir un mot de passe"),
    RequiredAction.CHECK_RESCUE_EMAIL: N_("vérifier l'adresse de secours"),
    RequiredAction.ACCEPT_CHARTER: N_("accepter la charte"),
    RequiredAction.VERIFY_EMAIL: N_("vérifier l'adresse mail"),
}

# The notice on the account page once an action is done.
NOTICES = {
    Action.RESET: N_(
        "Le compte a été réinitialisé : l'étudiant doit l'activer de nouveau. Rien d'autre "
        "n'a changé."
    ),
    Action.SET_RESCUE_EMAIL: N_("L'adresse de secours a été enregistrée."),
    Action.SEND_ACTIVATION_MAIL: N_("Le mail d'activation est parti vers l'adresse de secours."),
    Action.REENABLE: N_("Le compte a été réactivé."),
}

SEARCH_KINDS = {
    "name": N_("Identifiant ou nom"),
    "ine": N_("INE"),
    "student_number": N_("Numéro d'étudiant"),
}

ERRORS = {
    "console.reason": N_("Le motif doit tenir sur une ligne de 200 caractères au plus."),
    "email.required": N_("Saisissez l'adresse mail de secours."),
    "email.format": N_("Cette adresse mail n'est pas valide."),
    "email.university": N_(
        "L'adresse de secours doit être personnelle, pas une adresse de l'université."
    ),
    "email.mismatch": N_("Les deux adresses ne sont pas identiques."),
    "retention.confirmation": N_(
        "Saisissez l'identifiant du compte, exactement, pour confirmer l'anonymisation."
    ),
    "search.control": N_("La recherche contient des caractères de contrôle : retirez-les."),
    "search.ine": N_("Ce numéro INE n'a pas la bonne forme (11 caractères, clé de contrôle)."),
    "search.student_number": N_(
        "Un numéro d'étudiant ne contient que des lettres et des chiffres."
    ),
}

# Refusals: (title, message); the message may name the action and the state.
REFUSALS = {
    "console.not_applicable": (
        N_("Action impossible"),
        N_("« %(action)s » ne s'applique pas à un compte dans l'état « %(state)s »."),
    ),
    "console.not_enrolled": (
        N_("Action impossible"),
        N_(
            "Ce compte n'est plus valide : il revient avec la réinscription (export de la "
            "scolarité), pas à la main."
        ),
    ),
    "console.no_rescue_email": (
        N_("Action impossible"),
        N_(
            "Ce compte n'a pas d'adresse de secours : définissez-la d'abord, ou délivrez une "
            "clé d'activation."
        ),
    ),
    "console.not_student": (
        N_("Action refusée"),
        N_(
            "Ce compte n'est pas un compte étudiant : la console ne peut ni l'afficher ni le "
            "modifier."
        ),
    ),
    "retention.not_long_enough": (
        N_("Anonymisation impossible"),
        N_(
            "Ce compte n'est pas expiré depuis au moins %(years)s ans : ses données sont "
            "encore conservées (durée de conservation). Rien n'a été modifié."
        ),
    ),
    "retention.enabled": (
        N_("Anonymisation impossible"),
        N_(
            "Ce compte est encore actif : la tâche d'expiration doit d'abord le désactiver. "
            "Rien n'a été modifié."
        ),
    ),
    "retention.not_administrator": (
        N_("Action réservée aux administrateurs"),
        N_(
            "Seul un membre du personnel ayant le rôle d'administrateur peut anonymiser un "
            "compte. Rien n'a été modifié."
        ),
    ),
    "console.not_found": (N_("Compte introuvable"), N_("Ce compte n'existe pas.")),
    "console.not_staff": (
        N_("Accès réservé au personnel"),
        N_("Cette console est réservée au service de scolarité et à l'assistance."),
    ),
}

DELETED_ACCOUNT = N_("(compte supprimé %(id)s)")
