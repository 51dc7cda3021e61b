#!/usr/bin/env python3
"""Room management in a real browser: Debian's chromium, headless, driven by
chromium-driver through python3-selenium.

usage: tests/web_browser.py [PCHAT_BINARY] [SHOTS_DIR]
Starts its own pchat (free ports, a temp folder, users and a category made
with the CLI), then: signs in with the form; creates a room as a creator; a
manager adds a member and changes the topic; a room named <script>...
renders as text; a POST without the CSRF token is refused; a non-creator is
refused; the site admin's categories page.  A screenshot of each page goes to
SHOTS_DIR (build/web-shots).  Prints FAIL lines and one RESULT line.  As
root, chromium runs with --no-sandbox (as CI does).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

try:
    import selenium  # noqa: F401
except ImportError:  # a python3 other than Debian's (pyenv): use Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

PCHAT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "./pchat")
SHOTS = sys.argv[2] if len(sys.argv) > 2 else "build/web-shots"
RM = "/PersistentChat/RM/"
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL web_browser %s" % what, flush=True)
    return cond


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pchat-browser-")
        self.ini = os.path.join(self.dir, "pchat.ini")
        self.log = os.path.join(self.dir, "server.log")
        with open(self.ini, "w") as f:
            f.write("[server]\ndomain = example.org\nlisten = 127.0.0.1:0\nlog_level = debug\n"
                    "[auth]\nmin_password_length = 1\n[files]\nlisten = 127.0.0.1:0\n"
                    "[web]\nadmins = root\n")
        self.proc = None
        self.port = 0

    def cli(self, *args, stdin=None):
        return subprocess.run([PCHAT, "-c", self.ini] + list(args), input=stdin, capture_output=True,
                              text=True, timeout=30)

    def start(self):
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([PCHAT, "-c", self.ini, "serve"], stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline and not self.port:
            time.sleep(0.1)
            for line in open(self.log):
                if "event=files-listen port=" in line:
                    self.port = int(line.split("event=files-listen port=")[1].split()[0])
        return self.port != 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            check(self.proc.returncode == 0, "9.1 the server stops cleanly (exit %s)" % self.proc.returncode)
        self.logf.close()
        if os.environ.get("PCHAT_KEEP"):
            print("# kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def browser():
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--ignore-certificate-errors", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1000,1100"):
        opts.add_argument(arg)
    opts.accept_insecure_certs = True
    opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    srv = Server()
    drv = None
    try:
        for user in ("alice", "bob", "carol", "root"):
            srv.cli("user", "add", user, "--password-stdin", stdin="pw\n")
        check(srv.cli("category", "add", "team", "--creator", "alice").returncode == 0,
              "0.1 category team with creator alice")
        if not check(srv.start(), "0.2 the server starts and its files listener has a port"):
            return
        base = "https://127.0.0.1:%d%s" % (srv.port, RM)
        drv = browser()
        drv.implicitly_wait(3)

        def shot(name):
            # the whole page: the window as tall as the document for the shot
            size = drv.get_window_size()
            height = drv.execute_script("return document.documentElement.scrollHeight")
            drv.set_window_size(size["width"], max(size["height"], height + 140))
            drv.save_screenshot(os.path.join(SHOTS, name + ".png"))
            drv.set_window_size(size["width"], size["height"])

        def submit(action):
            # A form's answer is a new page: wait until the old one is gone and the
            # new one loaded, or the next find_element may still see (and lose) the
            # old one.  The old page is marked with a window property the new one
            # lacks; asking about an element of the old page instead (staleness_of)
            # races the navigation, and chromedriver then answers "Node with given
            # id does not belong to the document" rather than a stale element.
            drv.execute_script("window.pchatOldPage = true;")
            action()
            WebDriverWait(drv, 10, ignored_exceptions=(WebDriverException,)).until(
                lambda d: d.execute_script("return !window.pchatOldPage && document.readyState === 'complete';"))

        def sign_in(user):
            drv.delete_all_cookies()
            drv.get(base)
            drv.find_element(By.ID, "user").send_keys(user)
            drv.find_element(By.ID, "password").send_keys("pw")
            submit(drv.find_element(By.ID, "signin").click)

        # 1. the form
        drv.get(base)
        check(drv.find_element(By.TAG_NAME, "h1").text == "Sign in", "1.1 the sign-in page")
        shot("1-signin")
        # the keyboard alone: the user field has the focus, TAB to the password, ENTER
        active = drv.switch_to.active_element
        check(active.get_attribute("id") == "user", "1.1b the user field has the focus")
        active.send_keys("alice" + Keys.TAB)
        submit(lambda: drv.switch_to.active_element.send_keys("pw" + Keys.ENTER))
        check(drv.find_element(By.TAG_NAME, "h1").text == "My rooms" and "sip:alice@example.org" in drv.page_source,
              "1.2 signed in with the form: my rooms")
        cookie = drv.get_cookie("pchat_session")
        check(cookie is not None and cookie.get("httpOnly") and cookie.get("secure") and
              cookie.get("sameSite") == "Strict", "1.3 the session cookie is HttpOnly, Secure, SameSite=Strict")
        shot("2-my-rooms-empty")

        # 2. create a room as a creator
        drv.get(base + "create")
        shot("3-create")
        drv.find_element(By.ID, "name").send_keys("Team plans")
        drv.find_element(By.ID, "description").send_keys("Where the team plans its week")
        drv.find_element(By.ID, "topic").send_keys("Kick-off on Monday")
        Select(drv.find_element(By.ID, "privacy")).select_by_visible_text("closed")
        submit(drv.find_element(By.ID, "create").click)
        check(drv.find_element(By.TAG_NAME, "h1").text == "Team plans" and "you are its manager" in drv.page_source,
              "2.1 a creator creates a room and lands on its settings page")
        out = srv.cli("room", "show", "Team plans").stdout
        check("Team plans" in out, "2.2 the CLI sees the new room")

        # 3. the manager adds a member and changes the topic
        drv.find_element(By.ID, "user").send_keys("car")
        deadline = time.time() + 5
        offered = []
        while time.time() < deadline and not offered:
            time.sleep(0.2)
            offered = [o.get_attribute("value") for o in drv.find_elements(By.CSS_SELECTOR, "#user-list option")]
        check(offered == ["sip:carol@example.org"], "3.0 the user picker offers carol as one types (%r)" % offered)
        drv.find_element(By.ID, "user").clear()
        drv.find_element(By.ID, "user").send_keys("carol")
        Select(drv.find_element(By.ID, "role")).select_by_visible_text("member")
        submit(drv.find_element(By.ID, "add").click)
        check("sip:carol@example.org" in drv.find_element(By.ID, "members").text, "3.1 carol is listed as a member")
        topic = drv.find_element(By.ID, "topic")
        topic.clear()
        topic.send_keys("Plans for the web release")
        submit(drv.find_element(By.ID, "save").click)
        check(drv.find_element(By.ID, "topic").get_attribute("value") == "Plans for the web release" and
              "Saved." in drv.page_source, "3.2 the topic is saved")
        out = srv.cli("room", "show", "Team plans").stdout
        check("Plans for the web release" in out and "carol" in out, "3.3 the store has the topic and the member")
        shot("4-room-settings")
        if os.environ.get("PCHAT_UPDATE_SCREENSHOT") == "1":   # README's picture, refreshed on request only
            shutil.copyfile(os.path.join(SHOTS, "4-room-settings.png"), "doc/web-room.png")
        drv.get(base)
        shot("5-my-rooms")

        # 4. a room name with markup renders as text
        evil = "<script>alert(1)</script><b>x</b>"
        drv.get(base + "create")
        drv.find_element(By.ID, "name").send_keys(evil)
        submit(drv.find_element(By.ID, "create").click)
        try:
            drv.switch_to.alert
            alert = True
        except NoAlertPresentException:
            alert = False
        check(not alert and drv.find_element(By.TAG_NAME, "h1").text == evil,
              "4.1 a room named <script>... shows its name as text; no script runs")
        drv.get(base)
        check(evil in drv.find_element(By.ID, "rooms").text and not drv.find_elements(By.CSS_SELECTOR, "#rooms b"),
              "4.2 my rooms lists it as text, no markup")
        shot("6-xss-escaped")

        # 5. a POST without the CSRF token
        status = drv.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "fetch('create', {method: 'POST', credentials: 'same-origin',"
            " headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'name=NoToken&category=team'})"
            ".then(function (r) { done(r.status); }).catch(function (e) { done(String(e)); });")
        check(status == 403, "5.1 a POST without the CSRF token is refused (got %r)" % status)
        check("NoToken" not in srv.cli("room", "list").stdout, "5.2 and creates nothing")

        # 6. a non-creator
        sign_in("bob")
        drv.get(base + "create")
        check("not a creator" in drv.page_source and not drv.find_elements(By.ID, "create"),
              "6.1 a non-creator is told he may not create rooms")
        shot("7-non-creator")

        # 7. the site admin
        sign_in("root")
        drv.get(base + "categories")
        check(drv.find_element(By.TAG_NAME, "h1").text == "Categories" and "sip:alice@example.org" in drv.page_source,
              "7.1 the site admin's categories page lists team's creator")
        team = [sec for sec in drv.find_elements(By.CSS_SELECTOR, "section")
                if sec.find_elements(By.TAG_NAME, "h2") and sec.find_element(By.TAG_NAME, "h2").text == "team"][0]
        team.find_element(By.CSS_SELECTOR, "input[type=search]").send_keys("bob")
        Select(team.find_element(By.CSS_SELECTOR, "select[name=list]")).select_by_visible_text("creator")
        submit(team.find_element(By.XPATH, ".//button[text()='Add']").click)
        check("Saved." in drv.page_source and "sip:bob@example.org" in drv.page_source,
              "7.1b the site admin makes bob a creator of team")
        shot("8-categories")
        drv.get(base + "all")
        check("Team plans" in drv.page_source, "7.2 the site admin sees every room")
        shot("9-all-rooms")
        # a phone-sized window: the pages still fit
        drv.set_window_size(390, 844)
        drv.get(base + "all")
        width = drv.execute_script("return document.documentElement.scrollWidth")
        check(width <= 400, "7.3 on a phone-sized screen nothing scrolls sideways (width %s)" % width)
        shot("10-phone")
    except WebDriverException as e:
        # where: the line of this file the browser failed on, for the next reader of a CI log
        line = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__][-1:]
        check(False, "the browser failed at line %s: %s" % (line, str(e).splitlines()[0]))
    finally:
        if drv is not None:
            drv.quit()
        srv.stop()


main()
print("RESULT suite=web_browser passed=%d failed=%d" % (passed, failed))
sys.exit(1 if failed else 0)
