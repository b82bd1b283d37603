"""The Verify page's live camera: every face of the camera's video boxed with its verdict
against photo A, updated as the person moves.

Not a page itself (``app.py`` lists the pages). The video travels over WebRTC
(streamlit-webrtc, no STUN server: a browser on the same machine or network needs
none) while this machine has a network address; without one, or when the student
asks, a small component sends frames over Streamlit's own connection instead. Either
way the faces are analysed by :class:`facedemo.live.LiveAnalyser` on its own thread.
"""

from __future__ import annotations

import base64
import sys
import time

import streamlit as st

from facedemo import faces, identify, images, live
from facedemo.errors import FaceDemoError, NoFaceError
from pages.common import prepared, user_errors

SOURCE = "Live camera"
ANALYSER_KEY = "live_analyser"
WEBRTC_KEY = "live_camera"
FRAMES_KEY = "live_frames"

#: No ICE servers: host candidates connect a browser and this server on one machine or
#: network, and nothing is asked of the internet.
RTC_CONFIGURATION = {"iceServers": []}
CONSTRAINTS = {"video": {"width": 640, "height": 480}, "audio": False}

#: Seconds without a connection before the page suggests streaming without WebRTC.
CONNECT_SECONDS = 15
#: Milliseconds between two frames the no-WebRTC component sends (at most 2 unanswered).
FRAME_INTERVAL_MS = 100

CAMERA_NEEDS = (
    "**The camera needs your permission and a secure page.** Your browser asks whether "
    "this page may use the camera: answer *Allow*. Browsers only lend the camera to a "
    "secure page, one whose address starts with `https://` or is `localhost` (this "
    "computer). On a plain `http://` address over the classroom network, such as "
    "`http://192.168.1.20:8501`, the browser refuses the camera and live video cannot "
    "work: ask your teacher for the `https://` address, or run the app on your own laptop."
)
SNAPSHOT_NEEDS = (
    "The browser asks for the camera: answer *Allow*. It lends the camera only to a page at "
    "`https://` or `localhost`; over plain `http://` on a classroom network it cannot work."
)
NO_NETWORK = (
    "This computer has no network connection up, only its internal *loopback* address. "
    "A WebRTC video stream needs a real one even between a browser and a server on the "
    "same computer (browsers never use loopback for it), so the video goes over the "
    "page's own connection instead: a little slower, the same verdicts."
)
NOT_CONNECTED = (
    f"The video connection has not come up after {CONNECT_SECONDS} s. A firewall or a VPN "
    "may block WebRTC's direct connection between your browser and the app. Turn on "
    "*Stream without WebRTC* above: the frames then travel over the page's own connection."
)
LOADED_TOO_LATE = (
    "WebRTC is off: this server loaded TensorFlow before WebRTC's SRTP library, and "
    "loading it now would crash the server. Start the app with `streamlit run app.py`; "
    "until then the video goes over the page's own connection."
)
TRANSLATIONS = {
    "start": "Start the camera",
    "stop": "Stop",
    "select_device": "Choose camera",
    "media_api_not_available": "This browser gives no camera to this page: open it at an "
    "https:// address or on localhost.",
    "device_ask_permission": "Allow this page to use your camera.",
    "device_not_available": "No camera was found.",
    "device_access_denied": "The browser refused the camera. Allow it (the camera icon in "
    "the address bar) and start again.",
}

FRAMES_HTML = """
<div class="live">
  <video muted playsinline autoplay></video>
  <canvas class="overlay"></canvas>
</div>
<p class="message"></p>
"""
FRAMES_CSS = """
.live { position: relative; width: 100%; background: #222; min-height: 120px; }
.live video { width: 100%; display: block; }
.live canvas.overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.message { color: #b00; font-family: sans-serif; }
"""
FRAMES_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let state = parentElement.__facedemoLive;
  if (!state) {
    state = parentElement.__facedemoLive = { sent: 0, answered: 0, askedAt: 0 };
    state.video = parentElement.querySelector("video");
    state.overlay = parentElement.querySelector("canvas.overlay");
    state.grab = document.createElement("canvas");
    // A frame every data.interval ms while at most two are unanswered: the round trip
    // overlaps the next capture, and a slow server gets fewer frames, never a queue.
    state.tick = () => {
      const video = state.video;
      if (video.videoWidth && state.sent - state.answered < 2) {
        state.grab.width = video.videoWidth;
        state.grab.height = video.videoHeight;
        state.grab.getContext("2d").drawImage(video, 0, 0);
        state.sent += 1;
        setTriggerValue("frame", {
          number: state.sent, jpeg: state.grab.toDataURL("image/jpeg", 0.8),
        });
        state.askedAt = Date.now();
      } else if (Date.now() - state.askedAt > 3000) {
        state.answered = state.sent;  // an answer was lost: carry on
      }
    };
    const message = parentElement.querySelector(".message");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      message.textContent = data.insecure;
    } else {
      navigator.mediaDevices.getUserMedia(data.constraints).then((stream) => {
        state.stream = stream;
        state.video.srcObject = stream;
        state.timer = setInterval(state.tick, data.interval);
      }).catch((error) => {
        message.textContent = (error.name === "NotAllowedError" ? data.denied : data.missing)
          + " (" + error.name + ")";
      });
    }
  }
  const overlay = state.overlay;
  overlay.width = state.grab.width || 640;
  overlay.height = state.grab.height || 480;
  const context = overlay.getContext("2d");
  context.clearRect(0, 0, overlay.width, overlay.height);
  context.font = "bold 18px sans-serif";
  for (const face of data.faces) {
    const [x, y, w, h] = face.box;
    context.strokeStyle = context.fillStyle = face.match ? "rgb(46,204,64)" : "rgb(255,220,0)";
    context.lineWidth = 3;
    context.strokeRect(x, y, w, h);
    const width = context.measureText(face.text).width + 8;
    context.fillRect(x, Math.max(0, y - 24), width, 24);
    context.fillStyle = "black";
    context.fillText(face.text, x + 4, Math.max(18, y - 6));
  }
  state.answered = Math.max(state.answered, data.answered);
  return () => {
    clearInterval(state.timer);
    if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
    delete parentElement.__facedemoLive;
  };
}
"""
frames_component = st.components.v2.component(
    "facedemo_live_frames", html=FRAMES_HTML, css=FRAMES_CSS, js=FRAMES_JS
)


def verify_live(
    reference: tuple[bytes, str] | None, engine: faces.Engine, threshold: float, enforce: bool
) -> None:
    """Photo A against the camera's live video, every face boxed with its verdict."""
    st.subheader("Live camera against photo A")
    st.markdown(CAMERA_NEEDS)
    if reference is None:
        st.info("Choose photo A first: every face of the video is compared with it.")
        return
    with user_errors():
        prepared(engine)
        data, name = reference
        try:
            photo = faces.analyse_photo(data, engine, enforce, name=name)
        except NoFaceError as error:
            st.error(f"Photo A: {error}")
            return
    settings = live.verify_settings(engine, photo.embeddings[0], threshold)
    show_live(settings, threshold, photo.faces[0].crop, "source_B")


def identify_live(gallery: identify.Gallery, engine: faces.Engine, threshold: float) -> None:
    """The camera's live video, every face named after the closest person of ``gallery``."""
    st.subheader(f"Live camera against {gallery.name}")
    st.markdown(CAMERA_NEEDS)
    settings = live.identify_settings(engine, gallery, threshold)
    show_live(settings, threshold, None, "identify_source")


def show_live(
    settings: live.LiveSettings, threshold: float, reference_face, source_key: str
) -> None:
    """The video with every face boxed and labelled by ``settings``' judge, and the labels
    in words beside it (with photo A's face, in verify mode); ``source_key`` is the radio
    that chose the live camera."""
    analyser = session_analyser(settings)
    if use_webrtc():
        video_column, status_column = st.columns([3, 2])
        with video_column:
            context = webrtc_video(analyser)
        with status_column:
            show_reference(reference_face)
            live_status(analyser, threshold, context, source_key)
    else:
        frames_video(analyser, threshold, reference_face)


def show_reference(reference_face) -> None:
    if reference_face is not None:
        st.image(reference_face, caption="Photo A's face (the largest)", width=120)


def session_analyser(settings: live.LiveSettings) -> live.LiveAnalyser:
    """This browser session's analyser, with ``settings`` from its next frame on."""
    analyser = st.session_state.get(ANALYSER_KEY)
    if analyser is None:
        embedder = live.shared_embedding_process()
        analyser = live.LiveAnalyser(live.FrameProcessor(settings, embedder=embedder))
        st.session_state[ANALYSER_KEY] = analyser
    else:
        analyser.processor.configure(settings)
    return analyser


def use_webrtc() -> bool:
    """WebRTC unless this machine has no network address or the student turned it off."""
    if "tensorflow" in sys.modules and "pylibsrtp" not in sys.modules:
        st.warning(LOADED_TOO_LATE)
        return False
    if not live.webrtc_host_addresses():
        st.warning(NO_NETWORK)
        return False
    without = st.toggle(
        "Stream without WebRTC",
        key="live_without_webrtc",
        help="Sends the camera's frames over the page's own connection: slower, but it "
        "works where WebRTC's direct connection is blocked.",
    )
    return not without


def webrtc_video(analyser: live.LiveAnalyser):
    """The camera over WebRTC: the browser sends its video, the server sends it back boxed."""
    import av
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    def annotate(frame: av.VideoFrame) -> av.VideoFrame:
        drawn = analyser.annotate(frame.to_ndarray(format="rgb24"))
        return av.VideoFrame.from_ndarray(drawn, format="rgb24")

    return webrtc_streamer(
        key=WEBRTC_KEY,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=RTC_CONFIGURATION,
        media_stream_constraints=CONSTRAINTS,
        video_frame_callback=annotate,
        video_html_attrs={"autoPlay": True, "muted": True, "style": {"width": "100%"}},
        translations=TRANSLATIONS,
    )


def _receive_frame() -> None:
    """A frame from the no-WebRTC component: hand it to the analyser, note its number."""
    frame = st.session_state[FRAMES_KEY].get("frame")
    if not frame:
        return
    try:
        jpeg = base64.b64decode(frame["jpeg"].split(",", 1)[1])
        st.session_state[ANALYSER_KEY].submit(images.load_image(jpeg, "camera frame"))
    except (FaceDemoError, ValueError, IndexError):
        pass  # a torn frame: the next one follows
    st.session_state["live_answered"] = frame["number"]


@st.fragment
def frames_video(analyser: live.LiveAnalyser, threshold: float, reference_face) -> None:
    """The camera without WebRTC: the browser shows its own video, sends frames here and
    draws the boxes it gets back. Each frame reruns this fragment, which shows the verdicts
    too (a second fragment refreshing on a timer would interrupt the frames' reruns)."""
    latest = analyser.latest
    boxes = [
        {"box": list(face.box), "text": _box_text(face.label), "match": face.label.match}
        for face in (latest.faces if latest else ())
    ]
    video_column, status_column = st.columns([3, 2])
    with video_column:
        frames_component(
            key=FRAMES_KEY,
            data={
                "faces": boxes,
                "answered": st.session_state.get("live_answered", 0),
                "interval": FRAME_INTERVAL_MS,
                "constraints": CONSTRAINTS,
                "insecure": TRANSLATIONS["media_api_not_available"],
                "denied": TRANSLATIONS["device_access_denied"],
                "missing": TRANSLATIONS["device_not_available"],
            },
            on_frame_change=_receive_frame,
        )
    with status_column:
        show_reference(reference_face)
        status_lines(analyser, threshold, None)


def _box_text(label: live.Label) -> str:
    return label.text if label.distance is None else f"{label.text} {label.distance:.3f}"


#: Seconds between two refreshes of the verdicts in words. Every script run, a fragment's
#: too, ends with Streamlit clearing Keras' session and collecting garbage (measured: about
#: 150 ms of CPU on 2 busy cores), so not more often: the boxes on the video are live anyway.
STATUS_SECONDS = 1.0


@st.fragment(run_every=STATUS_SECONDS)
def live_status(analyser: live.LiveAnalyser, threshold: float, context, source_key: str) -> None:
    """The verdicts of the WebRTC video, refreshed every ``STATUS_SECONDS``. A refresh
    already due when the student turns WebRTC off (or leaves live mode) draws nothing, so
    no stale status is left beside the video that replaced this one."""
    if st.session_state.get("live_without_webrtc") or st.session_state.get(source_key) != SOURCE:
        return
    status_lines(analyser, threshold, context)


def status_lines(analyser: live.LiveAnalyser, threshold: float, context) -> None:
    """The latest verdicts in words, and how fast they come."""
    with st.container(key="live_status"):
        latest = analyser.latest
        if analyser.error:
            st.error(analyser.error)
        if context is not None and not context.state.playing and not context.state.signalling:
            st.markdown("Press **Start the camera** under the video.")
            return
        if latest is None:
            st.markdown("Waiting for the camera's first frame…")
            _warn_if_not_connecting(context)
            return
        if not latest.faces:
            st.markdown("No face in view.")
        for number, face in enumerate(latest.faces, start=1):
            label = face.label
            sign = "≤" if label.match else ">"
            st.markdown(
                f"Face {number}: **{label.text}** — distance {label.distance:.4f} "
                f"{sign} threshold {threshold:.4f}"
            )
        rates = analyser.rates()
        st.caption(
            f"Camera {rates.frames_in:.1f} frames/s · analysed {rates.frames_analysed:.1f} "
            f"frames/s · {rates.verdicts:.1f} verdicts/s · {rates.embeddings:.1f} embeddings/s"
        )


def _warn_if_not_connecting(context) -> None:
    """Suggest streaming without WebRTC when its connection hangs."""
    if context is None or not context.state.signalling or context.state.playing:
        st.session_state.pop("live_connecting_since", None)
        return
    since = st.session_state.setdefault("live_connecting_since", time.monotonic())
    if time.monotonic() - since > CONNECT_SECONDS:
        st.warning(NOT_CONNECTED)
