#pragma once

// Reading a Prometheus endpoint as Prometheus would: over HTTP with curl,
// then one sample's value out of the text.

#include <cstdint>
#include <string>

namespace meshrt::test {

/// GET http://127.0.0.1:port/path with curl (5 s at most); the body, or ""
/// when the request failed.
std::string scrape(uint16_t port, const std::string& path = "/metrics");

/// The HTTP status code curl got for GET http://127.0.0.1:port/path; 0 when
/// it got none.
int http_status(uint16_t port, const std::string& path);

/// The value of the sample written exactly as `series` ("name" or
/// `name{label="x"}`), or -1 when the text has no such line.
double sample(const std::string& text, const std::string& series);

} // namespace meshrt::test
