#include "dm/client_write_batch.hpp"

#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

/// Notes its name in `ended` when its batch ends.
class named_writer : public client_write_batch::writer {
public:
  named_writer(std::string name, std::vector<std::string>& ended) :
    name_(std::move(name)), ended_(ended) {}

  void end_batch() override {
    ended_.push_back(name_);
  }

private:
  std::string name_;
  std::vector<std::string>& ended_;
};

} // namespace

TEST_SUITE("dm.client_write_batch") {
  TEST_CASE("writers end when their batch does, in the order they joined") {
    std::vector<std::string> ended;
    CHECK(client_write_batch::current() == nullptr);
    {
      client_write_batch batch;
      CHECK(client_write_batch::current() == &batch);
      batch.add(std::make_shared<named_writer>("a", ended));
      batch.add(std::make_shared<named_writer>("b", ended));
      CHECK(ended.empty());
    }
    CHECK(ended == std::vector<std::string>{"a", "b"});
    CHECK(client_write_batch::current() == nullptr);
  }

  TEST_CASE("an inner batch ends its own writers, and the outer one is current again") {
    std::vector<std::string> ended;
    client_write_batch outer;
    outer.add(std::make_shared<named_writer>("outer", ended));
    {
      client_write_batch inner;
      CHECK(client_write_batch::current() == &inner);
      inner.add(std::make_shared<named_writer>("inner", ended));
    }
    CHECK(ended == std::vector<std::string>{"inner"});
    CHECK(client_write_batch::current() == &outer);
  }

  TEST_CASE("a batch is its thread's alone") {
    client_write_batch batch;
    client_write_batch* seen = &batch;
    std::thread other{[&] { seen = client_write_batch::current(); }};
    other.join();
    CHECK(seen == nullptr);
  }
}
