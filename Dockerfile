# canaryd: build on Debian 12, run on Debian 12 slim as a non-root user.
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libyaml-cpp-dev prometheus-cpp-dev libssl-dev libjemalloc-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# RelWithDebInfo (-O2), as every other build (scripts/dev): GCC 12 at Release's -O3 reports a -Wrestrict
# false positive in std::string's operator+ (GCC bug 105329), an error under -Werror. strip drops the
# debug info.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCANARYD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" \
 && strip build/canaryd build/canaryctl

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libboost-url1.81.0 libyaml-cpp0.7 libprometheus-cpp-core1.0 libssl3 libjemalloc2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/canaryd --shell /usr/sbin/nologin canaryd \
 && mkdir -p /etc/canaryd /var/lib/canaryd \
 && chown canaryd:canaryd /var/lib/canaryd
COPY --from=build /src/build/canaryd /src/build/canaryctl /usr/local/bin/
COPY deploy/image/canaryd.yaml /etc/canaryd/canaryd.yaml
USER 10001:10001
WORKDIR /var/lib/canaryd
# 31180: the data plane (the tutorial's NodePort); 9901: the control API.
EXPOSE 31180 9901
ENTRYPOINT ["canaryd"]
CMD ["-c", "/etc/canaryd/canaryd.yaml"]
