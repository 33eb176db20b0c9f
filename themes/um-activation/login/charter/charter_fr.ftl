<#-- La charte informatique affichée en entier à son acceptation (TERMS_AND_CONDITIONS).
     EXEMPLE livré avec le logiciel : l'université le remplace par sa propre charte, dans
     ce fichier et dans charter_en.ftl, en gardant la ligne charterVersion ci-dessous et en
     changeant sa valeur à chaque nouvelle version (les deux fichiers portent la même).
     Marche à suivre : docs/keycloak.md, « La charte informatique ». -->
<#assign charterVersion = "2026-09-exemple">
<p class="um-charter-sample"><strong>Texte d'exemple</strong> : cette charte illustre le service ; l'université la remplace par la charte adoptée par ses instances.</p>
<h2>Charte d'usage des ressources informatiques</h2>
<p>La présente charte fixe les règles d'usage des ressources informatiques et des services numériques de l'université (postes de travail, réseau filaire et wifi dont eduroam, messagerie, espace numérique de travail, plateformes pédagogiques, logiciels et stockage). Elle s'applique à toute personne titulaire d'un compte informatique de l'université. Activer son compte vaut acceptation de la charte.</p>

<h3>Article 1 – Le compte informatique</h3>
<ul>
<li>Le compte (identifiant et mot de passe) est personnel et incessible : il ne doit être ni prêté, ni partagé, ni utilisé par un tiers.</li>
<li>Vous êtes responsable de l'usage qui en est fait. Le mot de passe est confidentiel : ne le communiquez à personne, pas même au personnel de l'université, qui ne vous le demandera jamais.</li>
<li>Le compte reste ouvert tant que vous êtes inscrit(e) ; il est désactivé à l'échéance de votre inscription, dans les conditions indiquées par l'université.</li>
</ul>

<h3>Article 2 – Sécurité</h3>
<ul>
<li>Choisissez un mot de passe robuste, propre à l'université, et changez-le sans attendre si vous pensez qu'il est connu d'un tiers.</li>
<li>Verrouillez ou fermez votre session lorsque vous quittez un poste, et ne laissez pas de session ouverte sur un poste en libre-service.</li>
<li>Ne tentez pas d'accéder à des données, comptes ou systèmes qui ne vous sont pas destinés, de contourner les protections ni d'installer des logiciels malveillants ; ne connectez pas au réseau de l'université d'équipement destiné à en perturber le fonctionnement.</li>
<li>Signalez sans délai toute anomalie, tout message suspect (hameçonnage) ou tout usage frauduleux de votre compte au service d'assistance informatique.</li>
</ul>

<h3>Article 3 – Usages</h3>
<ul>
<li>Les ressources sont destinées aux études, à l'enseignement, à la recherche et à la vie universitaire. Un usage personnel raisonnable est toléré s'il ne gêne ni le service ni les autres usagers.</li>
<li>Toute utilisation commerciale, publicitaire ou de propagande est interdite.</li>
<li>Respectez les autres usagers : pas de messages injurieux, diffamatoires, discriminatoires ou harcelants, pas d'envois massifs non sollicités.</li>
</ul>

<h3>Article 4 – Respect de la loi</h3>
<ul>
<li>Respectez la propriété intellectuelle : pas de copie ni de diffusion d'œuvres, de logiciels ou de contenus sans l'accord de leurs auteurs ; les licences des logiciels fournis par l'université limitent leur usage.</li>
<li>Respectez la vie privée et les données personnelles d'autrui (règlement général sur la protection des données, loi « Informatique et libertés »).</li>
<li>L'accès ou le maintien frauduleux dans un système informatique, son entrave et l'altération de données sont des délits (articles 323-1 et suivants du code pénal).</li>
</ul>

<h3>Article 5 – Données personnelles et traces</h3>
<ul>
<li>L'université traite les données de votre compte (identité, adresse mail de secours, inscription) pour le fournir et le sécuriser. Vous disposez de droits d'accès, de rectification et d'opposition auprès de son délégué à la protection des données.</li>
<li>Pour la sécurité des systèmes et pour répondre à ses obligations légales, l'université conserve des journaux de connexion, pendant un an au plus. Ils ne sont consultés que par les personnes habilitées, et à ces seules fins.</li>
</ul>

<h3>Article 6 – Manquements</h3>
<p>En cas de manquement à la charte, l'université peut suspendre l'accès au compte, à titre conservatoire, sans préjudice des poursuites disciplinaires et pénales prévues par les textes.</p>

<h3>Article 7 – Version</h3>
<p>Version 2026-09-exemple, en vigueur à compter du 1<sup>er</sup> septembre 2026. Toute nouvelle version vous sera présentée à son entrée en vigueur.</p>
