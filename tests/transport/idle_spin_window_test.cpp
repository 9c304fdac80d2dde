// The idle spin's window: how long an idle worker looks for work, adapted
// to how soon work comes after it ran dry.

#include "transport/idle_spin_window.hpp"

#include <chrono>
#include <initializer_list>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using meshrt::transport::idle_spin_window;

TEST_SUITE("transport.idle_spin_window") {
  TEST_CASE("work that comes just after the spin ended doubles it, up to the maximum") {
    idle_spin_window w{50us, 200us};
    CHECK(w.current() == 50us);
    w.work_came_after(80us); // a spin of 100 us would have found it
    CHECK(w.current() == 100us);
    w.work_came_after(150us);
    CHECK(w.current() == 200us);
    w.work_came_after(199us);
    CHECK(w.current() == 200us); // not past the maximum
  }

  TEST_CASE("work found during the spin leaves it as it is") {
    idle_spin_window w{50us, 200us};
    w.work_came_after(90us);
    REQUIRE(w.current() == 100us);
    for (auto idle : {1us, 40us, 99us, 100us})
      w.work_came_after(idle);
    CHECK(w.current() == 100us);
  }

  TEST_CASE("work that comes later than the maximum halves it, down to where it started") {
    idle_spin_window w{50us, 200us};
    w.work_came_after(60us);
    w.work_came_after(110us);
    REQUIRE(w.current() == 200us);
    w.work_came_after(201us);
    CHECK(w.current() == 100us);
    w.work_came_after(10ms);
    CHECK(w.current() == 50us);
    w.work_came_after(1s);
    CHECK(w.current() == 50us); // never below the base
  }

  TEST_CASE("a maximum at or below the base keeps the spin fixed, a base of 0 never spins") {
    idle_spin_window fixed{50us, 20us};
    CHECK(fixed.max() == 50us);
    fixed.work_came_after(60us);
    fixed.work_came_after(1s);
    CHECK(fixed.current() == 50us);
    idle_spin_window none{0us, 200us};
    CHECK(none.max() == 0us);
    none.work_came_after(10us);
    none.work_came_after(1s);
    CHECK(none.current() == 0us);
    idle_spin_window negative{-5us, 200us};
    CHECK(negative.current() == 0us);
  }
}
