<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="de_DE">
  <context>
    <name>AppActions</name>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="78" />
      <source>Microphone</source>
      <translation>Mikrofon</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="79" />
      <source>Caption what the microphone hears (shown in blue)</source>
      <translation>Untertitel für das, was das Mikrofon hört (blau)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="80" />
      <source>System audio</source>
      <translation>Systemton</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="81" />
      <source>Caption what the computer plays (shown in yellow)</source>
      <translation>Untertitel für das, was der Computer abspielt (gelb)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="82" />
      <source>Show captions</source>
      <translation>Untertitel anzeigen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="83" />
      <source>Transcript history…</source>
      <translation>Transkript-Verlauf …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="84" />
      <source>Caption scrollback…</source>
      <translation>Untertitel-Rückblick …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="85" />
      <source>Connect a device…</source>
      <translation>Gerät verbinden …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="86" />
      <source>Settings…</source>
      <translation>Einstellungen …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="87" />
      <source>Quit</source>
      <translation>Beenden</translation>
    </message>
  </context>
  <context>
    <name>CaptionOverlay</name>
    <message>
      <location filename="../../whisper_desktop/widgets/overlay.py" line="126" />
      <source>Whisper Desktop captions</source>
      <translation>Whisper Desktop – Untertitel</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/overlay.py" line="246" />
      <source>Settings…</source>
      <translation>Einstellungen …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/overlay.py" line="247" />
      <source>History…</source>
      <translation>Verlauf …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/overlay.py" line="248" />
      <source>Scrollback…</source>
      <translation>Rückblick …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/overlay.py" line="249" />
      <source>Hide captions</source>
      <translation>Untertitel ausblenden</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/overlay.py" line="251" />
      <source>Quit</source>
      <translation>Beenden</translation>
    </message>
  </context>
  <context>
    <name>ColorButton</name>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="97" />
      <source>Choose a colour</source>
      <translation>Farbe wählen</translation>
    </message>
  </context>
  <context>
    <name>ConnectDialog</name>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="51" />
      <source>Connect a device</source>
      <translation>Gerät verbinden</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="60" />
      <source>Copy address</source>
      <translation>Adresse kopieren</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="62" />
      <source>Allow devices on the local network</source>
      <translation>Geräte im lokalen Netz erlauben</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="71" />
      <source>Open this address on the other device:</source>
      <translation>Diese Adresse auf dem anderen Gerät öffnen:</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="73" />
      <source>Token:</source>
      <translation>Token:</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="75" />
      <source>WebSocket endpoint (for your own clients):</source>
      <translation>WebSocket-Endpunkt (für eigene Clients):</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="77" />
      <source>Certificate fingerprint (SHA-256):</source>
      <translation>Fingerabdruck des Zertifikats (SHA-256):</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="92" />
      <source>none: plain http (TLS is off)</source>
      <translation>keiner: einfaches http (TLS ist aus)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="95" />
      <source>The browser will warn about a self-signed certificate: accept it only if the fingerprint it shows matches this one.</source>
      <translation>Der Browser warnt vor einem selbstsignierten Zertifikat: akzeptieren Sie es nur, wenn der angezeigte Fingerabdruck mit diesem übereinstimmt.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="99" />
      <source>Without TLS, phones and tablets cannot use their microphone here.</source>
      <translation>Ohne TLS können Telefone und Tablets ihr Mikrofon hier nicht verwenden.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="107" />
      <source>Scan the code with a phone or tablet on the same network, or type the address. The token keeps other people out; regenerate it in Settings.</source>
      <translation>Scannen Sie den Code mit einem Telefon oder Tablet im selben Netz oder tippen Sie die Adresse ein. Das Token hält andere fern; in den Einstellungen lässt es sich neu erzeugen.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="117" />
      <source>Other devices cannot connect yet: LAN access is off. Turn it on to get an address and a QR code.</source>
      <translation>Andere Geräte können sich noch nicht verbinden: der Zugang aus dem lokalen Netz ist aus. Schalten Sie ihn ein, um eine Adresse und einen QR-Code zu erhalten.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/connect_dialog.py" line="122" />
      <source>No LAN address</source>
      <translation>Keine LAN-Adresse</translation>
    </message>
  </context>
  <context>
    <name>DesktopApp</name>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="78" />
      <source>Microphone</source>
      <translation>Mikrofon</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="79" />
      <source>System audio</source>
      <translation>Systemton</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="82" />
      <source>Loading the model…</source>
      <translation>Modell wird geladen …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="83" />
      <source>Listening…</source>
      <translation>Hört zu …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="84" />
      <source>Captions paused</source>
      <translation>Untertitel pausiert</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="85" />
      <source>Not transcribing (see the tray)</source>
      <translation>Keine Transkription (siehe Symbolleiste)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="479" />
      <source>Microphone and system audio are off</source>
      <translation>Mikrofon und Systemton sind aus</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="482" />
      <source>Listening to: %1</source>
      <translation>Hört zu: %1</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="657" />
      <source>Restarting the server disconnects the %1 connected remote client.</source>
      <translation>Ein Neustart des Servers trennt den %1 verbundenen entfernten Client.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="661" />
      <source>Restarting the server disconnects the %1 connected remote clients.</source>
      <translation>Ein Neustart des Servers trennt die %1 verbundenen entfernten Clients.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="667" />
      <source>Restart the server?</source>
      <translation>Server neu starten?</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/controller.py" line="674" />
      <source>Restart the server</source>
      <translation>Server neu starten</translation>
    </message>
  </context>
  <context>
    <name>DownloadDialog</name>
    <message>
      <location filename="../../whisper_desktop/widgets/download_dialog.py" line="17" />
      <source>Downloading a model</source>
      <translation>Modell wird heruntergeladen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/download_dialog.py" line="24" />
      <source>Downloading %1…</source>
      <translation>%1 wird heruntergeladen …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/download_dialog.py" line="48" />
      <source>Downloading %1… %2 of %3 MiB</source>
      <translation>%1 wird heruntergeladen … %2 von %3 MiB</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/download_dialog.py" line="52" />
      <source>Downloading %1… %2 MiB</source>
      <translation>%1 wird heruntergeladen … %2 MiB</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/download_dialog.py" line="56" />
      <source>Cancelling…</source>
      <translation>Wird abgebrochen …</translation>
    </message>
  </context>
  <context>
    <name>HistoryWindow</name>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="63" />
      <source>Transcript history</source>
      <translation>Transkript-Verlauf</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="67" />
      <source>Search transcripts…</source>
      <translation>Transkripte durchsuchen …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="74" />
      <source>Started</source>
      <translation>Beginn</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="74" />
      <location filename="../../whisper_desktop/widgets/history_window.py" line="84" />
      <source>Source</source>
      <translation>Quelle</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="74" />
      <source>Utterances</source>
      <translation>Äußerungen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="74" />
      <source>Model</source>
      <translation>Modell</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="84" />
      <source>Time</source>
      <translation>Zeit</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="84" />
      <source>Text</source>
      <translation>Text</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="96" />
      <source>Select an utterance to read it in full.</source>
      <translation>Eine Äußerung auswählen, um sie ganz zu lesen.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="97" />
      <location filename="../../whisper_desktop/widgets/history_window.py" line="243" />
      <source>Copy</source>
      <translation>Kopieren</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="110" />
      <location filename="../../whisper_desktop/widgets/history_window.py" line="255" />
      <source>Delete session</source>
      <translation>Sitzung löschen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="115" />
      <source>Export…</source>
      <translation>Exportieren …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="120" />
      <source>Refresh</source>
      <translation>Aktualisieren</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="163" />
      <source>All sessions</source>
      <translation>Alle Sitzungen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="238" />
      <source>Copied to the clipboard</source>
      <translation>In die Zwischenablage kopiert</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="272" />
      <source>A session still being recorded cannot be deleted</source>
      <translation>Eine Sitzung, die noch aufgezeichnet wird, kann nicht gelöscht werden</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="277" />
      <source>Delete sessions</source>
      <translation>Sitzungen löschen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="279" />
      <source>Delete %1 session(s) and their transcripts? This cannot be undone.</source>
      <translation>%1 Sitzung(en) und ihre Transkripte löschen? Das lässt sich nicht rückgängig machen.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="290" />
      <source>; %1 still being recorded kept</source>
      <translation>; %1 noch aufgezeichnete behalten</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="291" />
      <source>Deleted %1 session(s)</source>
      <translation>%1 Sitzung(en) gelöscht</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="305" />
      <source>Export transcripts</source>
      <translation>Transkripte exportieren</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="307" />
      <source>%1 files (*.%2)</source>
      <translation>%1-Dateien (*.%2)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/history_window.py" line="311" />
      <source>Exported %1 utterances to %2</source>
      <translation>%1 Äußerungen nach %2 exportiert</translation>
    </message>
  </context>
  <context>
    <name>LevelMeters</name>
    <message>
      <location filename="../../whisper_desktop/widgets/level_meter.py" line="39" />
      <source>%1 level</source>
      <translation>Pegel %1</translation>
    </message>
  </context>
  <context>
    <name>MainWindow</name>
    <message>
      <location filename="../../whisper_desktop/widgets/main_window.py" line="25" />
      <source>Whisper Desktop</source>
      <translation>Whisper Desktop</translation>
    </message>
  </context>
  <context>
    <name>ScrollbackWindow</name>
    <message>
      <location filename="../../whisper_desktop/widgets/scrollback.py" line="35" />
      <location filename="../../whisper_desktop/widgets/scrollback.py" line="41" />
      <source>Caption scrollback</source>
      <translation>Untertitel-Rückblick</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/scrollback.py" line="46" />
      <source>Full screen</source>
      <translation>Vollbild</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/scrollback.py" line="47" />
      <source>F11 or Esc leaves full screen</source>
      <translation>F11 oder Esc beendet das Vollbild</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/scrollback.py" line="134" />
      <source>Finished lines of the last %1 minutes</source>
      <translation>Fertige Zeilen der letzten %1 Minuten</translation>
    </message>
  </context>
  <context>
    <name>SettingsDialog</name>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="46" />
      <source>Automatic (the GPU where CUDA works)</source>
      <translation>Automatisch (die GPU, wenn CUDA funktioniert)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="47" />
      <source>CPU</source>
      <translation>CPU</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="48" />
      <source>NVIDIA GPU (CUDA)</source>
      <translation>NVIDIA-GPU (CUDA)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="58" />
      <source>As spoken</source>
      <translation>Wie gesprochen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="59" />
      <source>Translated into English</source>
      <translation>Ins Englische übersetzt</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="103" />
      <source>System default</source>
      <translation>Systemstandard</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="111" />
      <source>%1 (not connected)</source>
      <translation>%1 (nicht verbunden)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="132" />
      <source>Whisper Desktop settings</source>
      <translation>Whisper Desktop – Einstellungen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="151" />
      <source>An official Whisper model name, a .pt checkpoint or a model folder</source>
      <translation>Ein offizieller Whisper-Modellname, ein .pt-Checkpoint oder ein Modellordner</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="153" />
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="364" />
      <source>Browse…</source>
      <translation>Durchsuchen …</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="161" />
      <source>A language by name or by code, or automatic detection</source>
      <translation>Eine Sprache als Name oder Code, oder automatische Erkennung</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="167" />
      <source>English-only model: the language setting is not used</source>
      <translation>Nur-Englisch-Modell: die Spracheinstellung wird nicht verwendet</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="175" />
      <source>Where the model runs; a change applies at the next start</source>
      <translation>Wo das Modell läuft; eine Änderung gilt ab dem nächsten Start</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="176" />
      <source>Correct each finished line (a second, slower pass)</source>
      <translation>Jede fertige Zeile verbessern (ein zweiter, langsamerer Durchgang)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="180" />
      <source>Decodes each finished utterance again, whole, when the computer has time, and replaces its live text; a change applies at the next start</source>
      <translation>Erkennt jede fertige Äußerung noch einmal als Ganzes, wenn der Computer Zeit hat, und ersetzt ihren Live-Text; eine Änderung gilt ab dem nächsten Start</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="184" />
      <source>Transcription</source>
      <translation>Transkription</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="186" />
      <source>Model</source>
      <translation>Modell</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="187" />
      <source>Language</source>
      <translation>Sprache</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="189" />
      <source>Device</source>
      <translation>Gerät</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="195" />
      <source>Caption the microphone</source>
      <translation>Mikrofon untertiteln</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="199" />
      <source>Caption the system audio</source>
      <translation>Systemton untertiteln</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="206" />
      <source>Echo cancellation: keep the speakers out of the microphone</source>
      <translation>Echounterdrückung: die Lautsprecher aus dem Mikrofon heraushalten</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="211" />
      <source>Without headphones the microphone hears what the speakers play. This removes it, using the system audio, so each sentence is captioned once. Headphones still help.</source>
      <translation>Ohne Kopfhörer hört das Mikrofon, was die Lautsprecher abspielen. Dies entfernt es mithilfe des Systemtons, damit jeder Satz nur einmal untertitelt wird. Kopfhörer helfen trotzdem.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="216" />
      <source>Audio</source>
      <translation>Audio</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="219" />
      <source>Microphone</source>
      <translation>Mikrofon</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="220" />
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="223" />
      <source>Its text</source>
      <translation>Text</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="222" />
      <source>Speaker to capture</source>
      <translation>Aufzunehmender Lautsprecher</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="227" />
      <source>Keep a transcript history on this computer</source>
      <translation>Transkript-Verlauf auf diesem Computer speichern</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="230" />
      <source>Off: nothing said from now on is saved; what is saved already stays</source>
      <translation>Aus: ab jetzt Gesagtes wird nicht gespeichert; bereits Gespeichertes bleibt</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="232" />
      <source>Start Whisper Desktop when I log in</source>
      <translation>Whisper Desktop bei der Anmeldung starten</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="235" />
      <source>Adds Whisper Desktop to the desktop session's autostart</source>
      <translation>Nimmt Whisper Desktop in den Autostart der Sitzung auf</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="237" />
      <source>History and start</source>
      <translation>Verlauf und Start</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="243" />
      <source>Accept remote clients (WebSocket server)</source>
      <translation>Entfernte Clients annehmen (WebSocket-Server)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="250" />
      <source>Allow devices on the local network (needs the token)</source>
      <translation>Geräte im lokalen Netz erlauben (mit Token)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="255" />
      <source>Regenerate</source>
      <translation>Neu erzeugen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="260" />
      <source>Encrypt connections from other devices (HTTPS/WSS)</source>
      <translation>Verbindungen anderer Geräte verschlüsseln (HTTPS/WSS)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="263" />
      <source>Phones get the microphone only on secure pages. Without a certificate of your own the app makes a self-signed one; its fingerprint is in Connect a device.</source>
      <translation>Telefone erlauben das Mikrofon nur auf sicheren Seiten. Ohne eigenes Zertifikat erzeugt die App ein selbstsigniertes; sein Fingerabdruck steht unter „Gerät verbinden“.</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="268" />
      <source>self-signed</source>
      <translation>selbstsigniert</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="270" />
      <source>in the certificate</source>
      <translation>im Zertifikat</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="272" />
      <source>Server</source>
      <translation>Server</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="275" />
      <source>Host</source>
      <translation>Host</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="276" />
      <source>Port</source>
      <translation>Port</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="278" />
      <source>Token</source>
      <translation>Token</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="280" />
      <source>Certificate (PEM)</source>
      <translation>Zertifikat (PEM)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="281" />
      <source>Key (PEM)</source>
      <translation>Schlüssel (PEM)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="293" />
      <source>Clicks pass through the captions</source>
      <translation>Klicks gehen durch die Untertitel hindurch</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="299" />
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="304" />
      <source> s</source>
      <translation> s</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="300" />
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="305" />
      <source>never</source>
      <translation>nie</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="308" />
      <source>A source's line clears this long after its last words</source>
      <translation>Die Zeile einer Quelle verschwindet so lange nach ihren letzten Worten</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="315" />
      <source> px</source>
      <translation> px</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="316" />
      <source>off (a shadow)</source>
      <translation>aus (ein Schatten)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="318" />
      <source>A border around each letter, readable over video</source>
      <translation>Ein Rand um jeden Buchstaben, lesbar über Video</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="321" />
      <source>Captions</source>
      <translation>Untertitel</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="323" />
      <source>Font</source>
      <translation>Schrift</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="324" />
      <source>Size</source>
      <translation>Größe</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="325" />
      <source>Lines per source</source>
      <translation>Zeilen pro Quelle</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="326" />
      <source>Text outline</source>
      <translation>Textumriss</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="327" />
      <source>Outline colour</source>
      <translation>Umrissfarbe</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="328" />
      <source>Background colour</source>
      <translation>Hintergrundfarbe</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="329" />
      <source>Background opacity</source>
      <translation>Deckkraft des Hintergrunds</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="331" />
      <source>Microphone colour</source>
      <translation>Farbe des Mikrofons</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="332" />
      <source>System audio colour</source>
      <translation>Farbe des Systemtons</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="333" />
      <source>Clear a line after</source>
      <translation>Zeile leeren nach</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="334" />
      <source>Fade when idle after</source>
      <translation>Ausblenden bei Stille nach</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="339" />
      <source> min</source>
      <translation> min</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="342" />
      <source>The screen it is on</source>
      <translation>Der Bildschirm, auf dem es ist</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="356" />
      <source>Write live text files (for OBS)</source>
      <translation>Live-Textdateien schreiben (für OBS)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="358" />
      <source>One file per source, captions-You.txt …, with its last finished lines</source>
      <translation>Eine Datei pro Quelle, captions-You.txt …, mit ihren letzten fertigen Zeilen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="362" />
      <source>the app's data folder</source>
      <translation>der Datenordner der App</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="373" />
      <source>Scrollback and streaming</source>
      <translation>Rückblick und Streaming</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="375" />
      <source>Scrollback keeps</source>
      <translation>Rückblick behält</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="376" />
      <source>Full screen on</source>
      <translation>Vollbild auf</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="378" />
      <source>Folder</source>
      <translation>Ordner</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="453" />
      <source>Choose a Whisper checkpoint</source>
      <translation>Whisper-Checkpoint wählen</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="455" />
      <source>Whisper checkpoints (*.pt);;All files (*)</source>
      <translation>Whisper-Checkpoints (*.pt);;Alle Dateien (*)</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/settings_dialog.py" line="462" />
      <source>Choose a folder for the live text files</source>
      <translation>Ordner für die Live-Textdateien wählen</translation>
    </message>
  </context>
  <context>
    <name>StatusInfo</name>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="35" />
      <source>Whisper Desktop — loading</source>
      <translation>Whisper Desktop – lädt</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="38" />
      <source>Whisper Desktop — listening</source>
      <translation>Whisper Desktop – hört zu</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="41" />
      <source>Whisper Desktop — paused</source>
      <translation>Whisper Desktop – pausiert</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="42" />
      <source>Whisper Desktop — problem</source>
      <translation>Whisper Desktop – Problem</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="50" />
      <source>Model: %1   Language: %2</source>
      <translation>Modell: %1   Sprache: %2</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="56" />
      <source>Device: %1</source>
      <translation>Gerät: %1</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="59" />
      <source>Server: %1</source>
      <translation>Server: %1</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="60" />
      <source>off</source>
      <translation>aus</translation>
    </message>
    <message>
      <location filename="../../whisper_desktop/widgets/tray.py" line="64" />
      <source>Remote clients: %1</source>
      <translation>Entfernte Clients: %1</translation>
    </message>
  </context>
</TS>