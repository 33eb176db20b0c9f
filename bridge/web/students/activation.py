"""Activation wizard, seed 000 steps 1 to 5.

Step 1 identifier -> step 2 automatic branch -> step 3 mail (3-1 resend) or step 4 INE
-> 4-1 rescue email -> step 5 mail; at step 4, an account with no INE on file goes to the
desk (docs/activation.md). The steps' business is in bridge.flows; this module
reads the forms, keeps the wizard's state (students/wizard.py) and answers each outcome.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account, mask_email
from bridge.domain.activation import Branch, branch_for
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import InvalidInput
from bridge.domain.identifiers import normalize_identifier
from bridge.flows.action_links import LinkPurpose, send_action_link
from bridge.flows.ine_check import check_ine
from bridge.flows.outcomes import Invalid, Limited, Refused, Sent, Unavailable
from bridge.flows.rescue_email import (
    grant_rescue_email_change,
    set_rescue_email_and_send,
    valid_rescue_email,
)
from bridge.i18n import N_, gettext
from bridge.web.answers import limit_page, unavailable
from bridge.web.locales import adopt_account_locale, forget_account_locale
from bridge.web.metrics import metrics_of
from bridge.web.requests import (
    client_address,
    counters_of,
    field,
    link_policy_of,
    mailer_of,
    now_of,
    posted_form,
    render_form,
    settings_of,
    students_of,
)
from bridge.web.students.notices import MailedNotices
from bridge.web.students.wizard import Wizard, forget
from bridge.web.templating import render

RESTART = "/activation"

ERRORS = {
    "identifier.required": N_("Saisissez votre identifiant."),
    "identifier.format": N_(
        "Cet identifiant n'a pas la bonne forme : il est du type jmartin001 (lettres "
        "minuscules sans accent et chiffres)."
    ),
    "ine.format": N_(
        "Ce numéro INE n'a pas la bonne forme : il comporte 11 caractères (chiffres et "
        "lettres), tel qu'indiqué sur votre relevé de notes du baccalauréat ou votre "
        "certificat de scolarité."
    ),
    "ine.check_key": N_("Ce numéro INE n'est pas valide : vérifiez le dernier caractère."),
    "ine.mismatch": N_("Ce numéro INE ne correspond pas à votre compte."),
    "email.required": N_("Saisissez votre adresse mail de secours."),
    "email.format": N_("Cette adresse mail n'est pas valide."),
    "email.university": N_(
        "L'adresse mail de secours doit être une adresse personnelle, pas une adresse de "
        "l'université."
    ),
    "email.mismatch": N_("Les deux adresses saisies sont différentes."),
}


def _restart() -> Response:
    return RedirectResponse(RESTART, status_code=303)


def _already_active(request: Request) -> Response:
    return render(request, "activation_already_active.html", status_code=409)


def _not_for_this_account(request: Request, account: Account) -> Response | None:
    """Steps 4 and 4-1 once the account changed under the wizard: activated meanwhile (it
    never changes its rescue email this way: lost password), or disabled (expired)."""
    branch = branch_for(account)
    if branch is Branch.ALREADY_ACTIVE:
        return _already_active(request)
    if branch is Branch.EXPIRED:
        return render(request, "account_expired.html", {"account": account}, status_code=403)
    return None


async def _current_account(request: Request, wizard: Wizard) -> Account | None:
    """The wizard's account read again; None (and the wizard dropped) if it changed hands."""
    account = await students_of(request).find_student(wizard.username)
    if account is None or account.id != wizard.user_id:
        forget(request.session)
        return None
    return account


# The mail page's label, seed 000's numbering: which step sent the mail.
MAIL_STEPS = ("3", "3-1", "5")


def _mail_answer(
    request: Request, wizard: Wizard, outcome: Sent | Limited | Unavailable, step: str
) -> Response:
    """Steps 3 and 5 (and 3-1): the page that says where the mail went, or why not."""
    metrics_of(request).mail("activation", outcome)
    if isinstance(outcome, Limited):
        return limit_page(request, outcome, RESTART)
    if isinstance(outcome, Unavailable):
        raise unavailable(outcome)
    deadline = outcome.deadline.isoformat()
    now = now_of(request)
    wizard.touch(
        now,
        masked=outcome.masked_address,
        deadline=deadline,
        mail_step=step,
        sent_at=now.isoformat(),
    ).save(request.session)
    return RedirectResponse("/activation/mail-sent", status_code=303)


async def _send_mail(request: Request, wizard: Wizard, account: Account, step: str) -> Response:
    outcome = await send_action_link(
        students_of(request),
        account,
        LinkPurpose.ACTIVATION,
        link_policy_of(request),
        now_of(request),
    )
    return _mail_answer(request, wizard, outcome, step)


# --- step 1 and 2 ----------------------------------------------------------------------


async def identifier(request: Request) -> Response:
    if request.method == "GET":
        forget(request.session)
        forget_account_locale(request)
        return await render_form(request, "activation_identifier.html")
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    raw = field(form, "identifier", 64)
    lookups = metrics_of(request).activation_lookups
    try:
        username = normalize_identifier(raw)
    except InvalidInput as error:
        lookups.labels("invalid").inc()
        return await render_form(
            request,
            "activation_identifier.html",
            {"error": gettext(ERRORS[error.code]), "value": raw},
            status_code=400,
        )
    account = await students_of(request).find_student(username)
    if account is None:
        lookups.labels("unknown").inc()
        return render(request, "activation_unknown.html", {"username": username}, status_code=404)
    adopt_account_locale(request, account.locale)
    branch = branch_for(account)
    lookups.labels(branch.value).inc()
    if branch is Branch.EXPIRED:
        return render(request, "account_expired.html", {"account": account}, status_code=403)
    if branch is Branch.ALREADY_ACTIVE:
        return _already_active(request)
    wizard = Wizard.start(account.id, account.username, now_of(request))
    wizard.save(request.session)
    if branch is Branch.SEND_MAIL:
        return await _send_mail(request, wizard, account, "3")
    if account.rescue_email and account.rescue_email_bounced:
        # The refused address said at once, with the way to a new one: the INE form.
        context = {"bounced": mask_email(account.rescue_email)}
        return await render_form(request, "activation_ine.html", context)
    return RedirectResponse("/activation/ine", status_code=303)


# --- steps 3, 3-1, 5 -------------------------------------------------------------------


async def mail_sent(request: Request) -> Response:
    now = now_of(request)
    wizard = Wizard.load(request.session, now)
    deadline = wizard.mail_deadline if wizard else None
    if wizard is None or deadline is None:
        return _restart()
    deadline = deadline.astimezone(PARIS)
    minutes_left = int((deadline - now).total_seconds() // 60)
    step = wizard.mail_step if wizard.mail_step in MAIL_STEPS else "3"
    return await render_form(
        request,
        "activation_mail_sent.html",
        {
            "masked": wizard.masked,
            "deadline": deadline,
            # The send this wizard made last (resends included); Keycloak's admin event of
            # it is the console's to read, not the student pages' (docs/account-page.md).
            "sent_at": wizard.mail_sent_at,
            "minutes_left": minutes_left,
            "mail_step": step,
        },
    )


async def resend(request: Request) -> Response:
    form = await posted_form(request, RESTART, form_url="/activation/mail-sent")
    if isinstance(form, Response):
        return form
    wizard = Wizard.load(request.session, now_of(request))
    if wizard is None:
        return _restart()
    account = await _current_account(request, wizard)
    if account is None or branch_for(account) is not Branch.SEND_MAIL:
        return _restart()
    return await _send_mail(request, wizard, account, "3-1")


# --- step 4: the INE -------------------------------------------------------------------


async def ine(request: Request) -> Response:
    wizard = Wizard.load(request.session, now_of(request))
    if wizard is None:
        return _restart()
    if request.method == "GET":
        return await render_form(request, "activation_ine.html")
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    account = await _current_account(request, wizard)
    if account is None:
        return _restart()
    refused = _not_for_this_account(request, account)
    if refused:
        return refused
    raw = field(form, "ine", 32)
    outcome = await check_ine(
        counters_of(request),
        account,
        raw,
        now=now_of(request),
        limits=settings_of(request).limits,
        requester=client_address(request),
    )
    if isinstance(outcome, Limited):
        return limit_page(request, outcome, RESTART)
    if isinstance(outcome, Refused):
        # ine.none_on_file: no INE can prove who this is, only the desk can (seed 004).
        metrics_of(request).ine_failures.labels("none_on_file").inc()
        return _desk(request, wizard)
    if isinstance(outcome, Invalid):
        # ine.mismatch, ine.format, ine.check_key: the reason is the code's last word.
        metrics_of(request).ine_failures.labels(outcome.code.rsplit(".", 1)[-1]).inc()
        context = {"error": gettext(ERRORS[outcome.code]), "value": raw}
        return await render_form(request, "activation_ine.html", context, 400)
    proof = await grant_rescue_email_change(counters_of(request), account)
    wizard.touch(now_of(request), ine_proof=proof).save(request.session)
    return RedirectResponse("/activation/rescue-email", status_code=303)


def _desk(request: Request, wizard: Wizard) -> Response:
    """Step 4 for an account with no INE on file (docs/activation.md, "No INE on file"):
    the desk, in seed 004's words; a page of its own, not an error of the INE field (the
    typing was fine). Answered for any well-formed INE, so it tells no more than that."""
    context = {"mail_sent": wizard.mail_deadline is not None}
    return render(request, "activation_desk.html", context, status_code=409)


# --- step 4-1 and 5: the rescue email --------------------------------------------------


async def rescue_email(request: Request) -> Response:
    wizard = Wizard.load(request.session, now_of(request))
    if wizard is None or not wizard.ine_confirmed:
        return _restart()
    if request.method == "GET":
        return await render_form(request, "activation_rescue_email.html")
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    email = field(form, "email")
    address = valid_rescue_email(
        email, field(form, "email_confirm"), settings_of(request).university_domains
    )
    if isinstance(address, Invalid):
        return await render_form(
            request,
            "activation_rescue_email.html",
            {"error": gettext(ERRORS[address.code]), "value": email, "error_field": address.code},
            status_code=400,
        )
    account = await _current_account(request, wizard)
    if account is None:
        return _restart()
    refused = _not_for_this_account(request, account)
    if refused:
        return refused
    outcome = await set_rescue_email_and_send(
        students_of(request),
        account,
        address,
        wizard.ine_proof,
        link_policy_of(request),
        now_of(request),
        MailedNotices(mailer_of(request), settings_of(request), metrics_of(request)),
    )
    if isinstance(outcome, Refused):
        metrics_of(request).mail("activation", outcome)
        if outcome.code == "account.active":
            return _already_active(request)
        forget(request.session)  # a spent or replaced proof: the INE step again, from step 1
        return _restart()
    if not isinstance(outcome, Limited):
        # Written (or written and put back): the proof is spent, this copy of it is useless.
        wizard = wizard.touch(now_of(request), ine_proof=None)
        wizard.save(request.session)
    return _mail_answer(request, wizard, outcome, "5")
