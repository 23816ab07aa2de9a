# ruff: noqa: E501 (a table of UI strings: one pair a line reads best)
"""The German UI strings: fills resources/i18n/whisper_desktop_de.ts after pyside6-lupdate has
added new sources, then the .qm is made with pyside6-lrelease (see scripts/update-translations.sh).
A source without a German text here stays unfinished in the .ts and shows in English."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TS = Path(__file__).resolve().parents[1] / "resources" / "i18n" / "whisper_desktop_de.ts"

GERMAN: dict[str, str] = {
    # tray menu and main window
    "Microphone": "Mikrofon",
    "Caption what the microphone hears (shown in blue)": (
        "Untertitel für das, was das Mikrofon hört (blau)"
    ),
    "System audio": "Systemton",
    "Caption what the computer plays (shown in yellow)": (
        "Untertitel für das, was der Computer abspielt (gelb)"
    ),
    "Show captions": "Untertitel anzeigen",
    "Transcript history…": "Transkript-Verlauf …",
    "Connect a device…": "Gerät verbinden …",
    "Settings…": "Einstellungen …",
    "Quit": "Beenden",
    "Whisper Desktop captions": "Whisper Desktop – Untertitel",
    "History…": "Verlauf …",
    "Hide captions": "Untertitel ausblenden",
    "Choose a colour": "Farbe wählen",
    "Whisper Desktop": "Whisper Desktop",
    "%1 level": "Pegel %1",
    # app
    "Loading the model…": "Modell wird geladen …",
    "Listening…": "Hört zu …",
    "Captions paused": "Untertitel pausiert",
    "Not transcribing (see the tray)": "Keine Transkription (siehe Symbolleiste)",
    "Microphone and system audio are off": "Mikrofon und Systemton sind aus",
    # echo cancellation
    "Echo cancellation: keep the speakers out of the microphone": (
        "Echounterdrückung: die Lautsprecher aus dem Mikrofon heraushalten"
    ),
    "Without headphones the microphone hears what the speakers play. This removes it, using the system audio, so each sentence is captioned once. Headphones still help.": (
        "Ohne Kopfhörer hört das Mikrofon, was die Lautsprecher abspielen. Dies entfernt es "
        "mithilfe des Systemtons, damit jeder Satz nur einmal untertitelt wird. Kopfhörer "
        "helfen trotzdem."
    ),
    "Listening to: %1": "Hört zu: %1",
    "Restarting the server disconnects the %1 connected remote client.": "Ein Neustart des Servers trennt den %1 verbundenen entfernten Client.",
    "Restarting the server disconnects the %1 connected remote clients.": "Ein Neustart des Servers trennt die %1 verbundenen entfernten Clients.",
    "Restart the server?": "Server neu starten?",
    "Restart the server": "Server neu starten",
    # download
    "Downloading a model": "Modell wird heruntergeladen",
    "Downloading %1…": "%1 wird heruntergeladen …",
    "Downloading %1… %2 of %3 MiB": "%1 wird heruntergeladen … %2 von %3 MiB",
    "Downloading %1… %2 MiB": "%1 wird heruntergeladen … %2 MiB",
    "Cancelling…": "Wird abgebrochen …",
    # status
    "Whisper Desktop — loading": "Whisper Desktop – lädt",
    "Whisper Desktop — listening": "Whisper Desktop – hört zu",
    "Whisper Desktop — paused": "Whisper Desktop – pausiert",
    "Whisper Desktop — problem": "Whisper Desktop – Problem",
    "Model: %1   Language: %2": "Modell: %1   Sprache: %2",
    "Device: %1": "Gerät: %1",
    "Server: %1": "Server: %1",
    "off": "aus",
    "Remote clients: %1": "Entfernte Clients: %1",
    # settings dialog
    "Automatic (the GPU where CUDA works)": "Automatisch (die GPU, wenn CUDA funktioniert)",
    "CPU": "CPU",
    "NVIDIA GPU (CUDA)": "NVIDIA-GPU (CUDA)",
    "As spoken": "Wie gesprochen",
    "Translated into English": "Ins Englische übersetzt",
    "System default": "Systemstandard",
    "%1 (not connected)": "%1 (nicht verbunden)",
    "Whisper Desktop settings": "Whisper Desktop – Einstellungen",
    "An official Whisper model name, a .pt checkpoint or a model folder": "Ein offizieller Whisper-Modellname, ein .pt-Checkpoint oder ein Modellordner",
    "Browse…": "Durchsuchen …",
    "A language by name or by code, or automatic detection": "Eine Sprache als Name oder Code, oder automatische Erkennung",
    "English-only model: the language setting is not used": "Nur-Englisch-Modell: die Spracheinstellung wird nicht verwendet",
    "Where the model runs; a change applies at the next start": "Wo das Modell läuft; eine Änderung gilt ab dem nächsten Start",
    "Correct each finished line (a second, slower pass)": "Jede fertige Zeile verbessern (ein zweiter, langsamerer Durchgang)",
    "Decodes each finished utterance again, whole, when the computer has time, and replaces its live text; a change applies at the next start": "Erkennt jede fertige Äußerung noch einmal als Ganzes, wenn der Computer Zeit hat, und ersetzt ihren Live-Text; eine Änderung gilt ab dem nächsten Start",
    "Transcription": "Transkription",
    "Model": "Modell",
    "Language": "Sprache",
    "Device": "Gerät",
    "Caption the microphone": "Mikrofon untertiteln",
    "Caption the system audio": "Systemton untertiteln",
    "Audio": "Audio",
    "Its text": "Text",
    "Speaker to capture": "Aufzunehmender Lautsprecher",
    "Keep a transcript history on this computer": (
        "Transkript-Verlauf auf diesem Computer speichern"
    ),
    "Off: nothing said from now on is saved; what is saved already stays": "Aus: ab jetzt Gesagtes wird nicht gespeichert; bereits Gespeichertes bleibt",
    "Start Whisper Desktop when I log in": "Whisper Desktop bei der Anmeldung starten",
    "Adds Whisper Desktop to the desktop session's autostart": "Nimmt Whisper Desktop in den Autostart der Sitzung auf",
    "History and start": "Verlauf und Start",
    "Accept remote clients (WebSocket server)": "Entfernte Clients annehmen (WebSocket-Server)",
    "Allow devices on the local network (needs the token)": "Geräte im lokalen Netz erlauben (mit Token)",
    "Regenerate": "Neu erzeugen",
    "Encrypt connections from other devices (HTTPS/WSS)": "Verbindungen anderer Geräte verschlüsseln (HTTPS/WSS)",
    "Phones get the microphone only on secure pages. Without a certificate of your own the app "
    "makes a self-signed one; its fingerprint is in Connect a device.": "Telefone erlauben das Mikrofon nur auf sicheren Seiten. Ohne eigenes Zertifikat erzeugt "
    "die App ein selbstsigniertes; sein Fingerabdruck steht unter „Gerät verbinden“.",
    "self-signed": "selbstsigniert",
    "in the certificate": "im Zertifikat",
    "Server": "Server",
    "Host": "Host",
    "Port": "Port",
    "Token": "Token",
    "Certificate (PEM)": "Zertifikat (PEM)",
    "Key (PEM)": "Schlüssel (PEM)",
    "Clicks pass through the captions": "Klicks gehen durch die Untertitel hindurch",
    " s": " s",
    "never": "nie",
    "A source's line clears this long after its last words": "Die Zeile einer Quelle verschwindet so lange nach ihren letzten Worten",
    "Captions": "Untertitel",
    "Font": "Schrift",
    "Size": "Größe",
    "Background opacity": "Deckkraft des Hintergrunds",
    "Microphone colour": "Farbe des Mikrofons",
    "System audio colour": "Farbe des Systemtons",
    "Clear a line after": "Zeile leeren nach",
    "Fade when idle after": "Ausblenden bei Stille nach",
    "Choose a Whisper checkpoint": "Whisper-Checkpoint wählen",
    "Whisper checkpoints (*.pt);;All files (*)": "Whisper-Checkpoints (*.pt);;Alle Dateien (*)",
    # connect dialog
    "Connect a device": "Gerät verbinden",
    "Copy address": "Adresse kopieren",
    "Allow devices on the local network": "Geräte im lokalen Netz erlauben",
    "Open this address on the other device:": "Diese Adresse auf dem anderen Gerät öffnen:",
    "Token:": "Token:",
    "WebSocket endpoint (for your own clients):": "WebSocket-Endpunkt (für eigene Clients):",
    "Certificate fingerprint (SHA-256):": "Fingerabdruck des Zertifikats (SHA-256):",
    "none: plain http (TLS is off)": "keiner: einfaches http (TLS ist aus)",
    "The browser will warn about a self-signed certificate: accept it only if the fingerprint it shows matches this one.": "Der Browser warnt vor einem selbstsignierten Zertifikat: akzeptieren Sie es nur, wenn der angezeigte Fingerabdruck mit diesem übereinstimmt.",
    "Without TLS, phones and tablets cannot use their microphone here.": "Ohne TLS können Telefone und Tablets ihr Mikrofon hier nicht verwenden.",
    "Scan the code with a phone or tablet on the same network, or type the address. The token keeps other people out; regenerate it in Settings.": "Scannen Sie den Code mit einem Telefon oder Tablet im selben Netz oder tippen Sie die Adresse ein. Das Token hält andere fern; in den Einstellungen lässt es sich neu erzeugen.",
    "Other devices cannot connect yet: LAN access is off. Turn it on to get an address and a QR code.": "Andere Geräte können sich noch nicht verbinden: der Zugang aus dem lokalen Netz ist aus. Schalten Sie ihn ein, um eine Adresse und einen QR-Code zu erhalten.",
    "No LAN address": "Keine LAN-Adresse",
    # history window
    "Transcript history": "Transkript-Verlauf",
    "Search transcripts…": "Transkripte durchsuchen …",
    "Started": "Beginn",
    "Source": "Quelle",
    "Utterances": "Äußerungen",
    "Time": "Zeit",
    "Text": "Text",
    "Select an utterance to read it in full.": "Eine Äußerung auswählen, um sie ganz zu lesen.",
    "Copy": "Kopieren",
    "Delete session": "Sitzung löschen",
    "Export…": "Exportieren …",
    "Refresh": "Aktualisieren",
    "All sessions": "Alle Sitzungen",
    "Copied to the clipboard": "In die Zwischenablage kopiert",
    "A session still being recorded cannot be deleted": "Eine Sitzung, die noch aufgezeichnet wird, kann nicht gelöscht werden",
    "Delete sessions": "Sitzungen löschen",
    "Delete %1 session(s) and their transcripts? This cannot be undone.": "%1 Sitzung(en) und ihre Transkripte löschen? Das lässt sich nicht rückgängig machen.",
    "; %1 still being recorded kept": "; %1 noch aufgezeichnete behalten",
    "Deleted %1 session(s)": "%1 Sitzung(en) gelöscht",
    "Export transcripts": "Transkripte exportieren",
    "%1 files (*.%2)": "%1-Dateien (*.%2)",
    "Exported %1 utterances to %2": "%1 Äußerungen nach %2 exportiert",
    # reading options: lines, outline, scrollback, live text files
    "Caption scrollback…": "Untertitel-Rückblick …",
    "Scrollback…": "Rückblick …",
    "Caption scrollback": "Untertitel-Rückblick",
    "Full screen": "Vollbild",
    "F11 or Esc leaves full screen": "F11 oder Esc beendet das Vollbild",
    "Finished lines of the last %1 minutes": "Fertige Zeilen der letzten %1 Minuten",
    " px": " px",
    "off (a shadow)": "aus (ein Schatten)",
    "A border around each letter, readable over video": "Ein Rand um jeden Buchstaben, lesbar über Video",
    "Lines per source": "Zeilen pro Quelle",
    "Text outline": "Textumriss",
    "Outline colour": "Umrissfarbe",
    "Background colour": "Hintergrundfarbe",
    " min": " min",
    "The screen it is on": "Der Bildschirm, auf dem es ist",
    "Write live text files (for OBS)": "Live-Textdateien schreiben (für OBS)",
    "One file per source, captions-You.txt …, with its last finished lines": "Eine Datei pro Quelle, captions-You.txt …, mit ihren letzten fertigen Zeilen",
    "the app's data folder": "der Datenordner der App",
    "Scrollback and streaming": "Rückblick und Streaming",
    "Scrollback keeps": "Rückblick behält",
    "Full screen on": "Vollbild auf",
    "Folder": "Ordner",
    "Choose a folder for the live text files": "Ordner für die Live-Textdateien wählen",
}


def main() -> int:
    tree = ET.parse(TS)
    missing = []
    for message in tree.getroot().iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        if translation is None:
            translation = ET.SubElement(message, "translation")
        if source in GERMAN:
            translation.text = GERMAN[source]
            translation.attrib.pop("type", None)
        else:
            translation.set("type", "unfinished")
            missing.append(source)
    ET.indent(tree)
    tree.write(TS, encoding="utf-8", xml_declaration=True)
    for source in missing:
        print(f"no German text for: {source!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
