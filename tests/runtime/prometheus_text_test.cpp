// The Prometheus text writer: families once each, labels escaped, values
// exact, bad names refused.

#include "runtime/prometheus_text.hpp"

#include <stdexcept>

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("runtime.prometheus_text") {

  TEST_CASE("samples of one family are written under one HELP and TYPE, in the order added") {
    prometheus_text out;
    out.add("meshrt_sent_total", metric_kind::counter, "Sent", 3, {{"peer", "a"}});
    out.add("meshrt_view_nodes", metric_kind::gauge, "Nodes", 4);
    out.add("meshrt_sent_total", metric_kind::counter, "ignored: the first help stays", 5,
            {{"peer", "b"}});
    CHECK(out.size() == 2);
    CHECK(out.render()
          == "# HELP meshrt_sent_total Sent\n"
             "# TYPE meshrt_sent_total counter\n"
             "meshrt_sent_total{peer=\"a\"} 3\n"
             "meshrt_sent_total{peer=\"b\"} 5\n"
             "# HELP meshrt_view_nodes Nodes\n"
             "# TYPE meshrt_view_nodes gauge\n"
             "meshrt_view_nodes 4\n");
  }

  TEST_CASE("label values and help text are escaped, several labels are comma-separated") {
    prometheus_text out;
    out.add("m", metric_kind::gauge, "a \\ b\nc", 1,
            {{"reason", "say \"hi\"\\now\n"}, {"peer", "127.0.0.1:1"}});
    CHECK(out.render()
          == "# HELP m a \\\\ b\\nc\n# TYPE m gauge\n"
             "m{reason=\"say \\\"hi\\\"\\\\now\\n\",peer=\"127.0.0.1:1\"} 1\n");
  }

  TEST_CASE("values: integers exact to 2^53, fractions in their shortest exact form") {
    prometheus_text out;
    out.add("a", metric_kind::counter, "", 9007199254740992.0);
    out.add("b", metric_kind::gauge, "", 0.000512);
    out.add("c", metric_kind::gauge, "", 0.1 + 0.2);
    out.add("d", metric_kind::gauge, "", -2.5);
    auto text = out.render();
    CHECK(text.find("\na 9007199254740992\n") != std::string::npos);
    CHECK(text.find("\nb 0.000512\n") != std::string::npos);
    CHECK(text.find("\nc 0.30000000000000004\n") != std::string::npos);
    CHECK(text.find("\nd -2.5\n") != std::string::npos);
  }

  TEST_CASE("a metric or label name Prometheus refuses is an error naming it") {
    prometheus_text out;
    CHECK_THROWS_WITH_AS(out.add("2xx", metric_kind::gauge, "", 1),
                         "not a Prometheus metric name: '2xx'", std::invalid_argument);
    CHECK_THROWS_AS(out.add("a-b", metric_kind::gauge, "", 1), std::invalid_argument);
    CHECK_THROWS_WITH_AS(out.add("ok", metric_kind::gauge, "", 1, {{"__reserved", "x"}}),
                         "not a Prometheus label name: '__reserved' (metric ok)",
                         std::invalid_argument);
    CHECK_THROWS_AS(out.add("ok", metric_kind::gauge, "", 1, {{"a:b", "x"}}),
                    std::invalid_argument);
    out.add("ns:ok_total", metric_kind::counter, "", 1); // colons: recording-rule names
    CHECK(out.render().find("ns:ok_total 1") != std::string::npos);
  }

} // TEST_SUITE
