package usermgmt

import "strings"

// A User-Agent header is read only to name a session or a trusted device
// in a list ("Chrome 131 on macOS"), when the list is read, never on the
// path of Authenticate. The few browsers and systems people sign in from
// are enough: anything else is named by what is known of it, or not at
// all, and the raw header is always beside the name.

// browserTokens are the product tokens that name a browser, in the order
// they are looked for: Edge and Opera also say Chrome and Safari, Chrome
// also says Safari, so the more particular ones come first.
var browserTokens = []struct{ token, name string }{
	{"EdgiOS/", "Edge"}, {"EdgA/", "Edge"}, {"Edg/", "Edge"}, {"Edge/", "Edge"},
	{"OPiOS/", "Opera"}, {"OPR/", "Opera"}, {"Opera/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"FxiOS/", "Firefox"}, {"Firefox/", "Firefox"},
	{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"},
}

// deviceTokens name the system, in the order they are looked for: iOS
// says "like Mac OS X", Android and ChromeOS say Linux.
var deviceTokens = []struct{ token, name string }{
	{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"iPod", "iPod"},
	{"Android", "Android"}, {"CrOS", "ChromeOS"}, {"Windows", "Windows"},
	{"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
}

// describeUserAgent returns a readable browser ("Chrome 131", "Safari
// 17") and device ("macOS", "iPhone") from a User-Agent header; each is
// "" when it is not recognised.
func describeUserAgent(ua string) (browser, device string) {
	for _, d := range deviceTokens {
		if strings.Contains(ua, d.token) {
			device = d.name
			break
		}
	}
	for _, b := range browserTokens {
		if i := strings.Index(ua, b.token); i >= 0 {
			return withMajor(b.name, ua[i+len(b.token):]), device
		}
	}
	// Safari names its version in Version/; a Safari/ token without it is
	// an app's web view, not a browser the person chose.
	if i := strings.Index(ua, "Version/"); i >= 0 && strings.Contains(ua, "Safari/") {
		return withMajor("Safari", ua[i+len("Version/"):]), device
	}
	return "", device
}

// withMajor appends the major version at the start of v, if there is one.
func withMajor(name, v string) string {
	n := 0
	for n < len(v) && n < 6 && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	if n == 0 {
		return name
	}
	return name + " " + v[:n]
}

// describeDevice is the browser and device of ua as one phrase: "Chrome
// 131 on macOS", "Safari 17 on iPhone", or "" when neither is known.
func describeDevice(ua string) string {
	b, d := describeUserAgent(ua)
	switch {
	case b != "" && d != "":
		return b + " on " + d
	case b != "":
		return b
	}
	return d
}
