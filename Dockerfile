# irsa-local as a container: the issuer, the AWS endpoint (IAM, STS, S3,
# EKS, eks-auth) and, for --cluster existing, the webhook, with no cluster
# by default. Built by `make image` (hack/image.sh) from a context holding a
# static bin/irsa-local and the CA bundle of the build machine: no base
# image, no shell, no package manager.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY irsa-local /usr/local/bin/irsa-local
# The state (keys, CA, IAM, S3, the trail) lives in a volume; /tmp is
# where Go and the AWS state put temporary files before renaming them.
COPY --chown=65532:65532 state /state
COPY --chown=65532:65532 tmp /tmp
ENV IRSA_LOCAL_HOME=/state HOME=/state
USER 65532:65532
VOLUME /state
# 8443: issuer (HTTPS); 4566: AWS endpoint (HTTP); 4567: AWS endpoint (HTTPS).
EXPOSE 8443 4566 4567
ENTRYPOINT ["/usr/local/bin/irsa-local"]
CMD ["serve", "--cluster", "none", "--listen-host", "0.0.0.0", "--issuer-port", "8443", "--aws-port", "4566", "--aws-https-port", "4567"]
