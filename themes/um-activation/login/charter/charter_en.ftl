<#-- The IT charter in English, shown in full when it is accepted (TERMS_AND_CONDITIONS).
     A SAMPLE shipped with the software: the university replaces it with its own charter,
     here and in charter_fr.ftl, keeping the charterVersion line below and changing its
     value with each new version (both files carry the same one).
     How: docs/keycloak.md, "The IT charter". -->
<#assign charterVersion = "2026-09-exemple">
<p class="um-charter-sample"><strong>Sample text</strong>: this charter illustrates the service; the university replaces it with the charter its boards have adopted. The French version is the reference.</p>
<h2>Charter for the use of IT resources</h2>
<p>This charter sets the rules for using the university's IT resources and digital services (computers, wired network and wifi including eduroam, email, the digital workspace, learning platforms, software and storage). It applies to everyone who holds a university IT account. Activating your account means accepting the charter.</p>

<h3>Article 1 – The IT account</h3>
<ul>
<li>The account (identifier and password) is personal and may not be transferred: do not lend it, share it or let anyone else use it.</li>
<li>You are responsible for what is done with it. The password is confidential: give it to no one, not even university staff, who will never ask for it.</li>
<li>The account stays open while you are enrolled; it is disabled when your enrollment ends, under the conditions the university sets.</li>
</ul>

<h3>Article 2 – Security</h3>
<ul>
<li>Choose a strong password, used for the university only, and change it at once if you think someone else knows it.</li>
<li>Lock or close your session when you leave a computer, and never leave a session open on a shared computer.</li>
<li>Do not try to reach data, accounts or systems not meant for you, to get around protections or to install malicious software; do not connect to the university's network any device meant to disturb it.</li>
<li>Report at once any anomaly, any suspicious message (phishing) or any fraudulent use of your account to the IT help desk.</li>
</ul>

<h3>Article 3 – Use</h3>
<ul>
<li>The resources are meant for study, teaching, research and university life. Reasonable personal use is tolerated if it does not hinder the service or other users.</li>
<li>Any commercial, advertising or propaganda use is forbidden.</li>
<li>Respect other users: no insulting, defamatory, discriminatory or harassing messages, no unsolicited mass mailings.</li>
</ul>

<h3>Article 4 – The law</h3>
<ul>
<li>Respect intellectual property: do not copy or share works, software or content without their authors' consent; the licences of the software the university provides limit its use.</li>
<li>Respect other people's privacy and personal data (the General Data Protection Regulation and the French data protection act).</li>
<li>Fraudulently accessing or staying in a computer system, hindering it or altering its data are criminal offences (articles 323-1 and following of the French criminal code).</li>
</ul>

<h3>Article 5 – Personal data and logs</h3>
<ul>
<li>The university processes your account's data (identity, rescue email address, enrollment) to provide and secure it. You may exercise your rights of access, correction and objection with its data protection officer.</li>
<li>For the security of its systems and to meet its legal obligations, the university keeps connection logs for one year at most. Only authorised staff read them, and only for these purposes.</li>
</ul>

<h3>Article 6 – Breaches</h3>
<p>If the charter is breached, the university may suspend access to the account as a precaution, without prejudice to disciplinary and criminal proceedings.</p>

<h3>Article 7 – Version</h3>
<p>Version 2026-09-exemple, in force from 1 September 2026. Any new version will be shown to you when it comes into force.</p>
