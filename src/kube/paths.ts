/**
 * The API paths of the objects a step is made of.
 *
 * @module
 */

/** Paths of the objects of a namespace. */
export const paths = {
  jobs: (namespace: string) => `/apis/batch/v1/namespaces/${namespace}/jobs`,
  job: (namespace: string, name: string) => `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`,
  secrets: (namespace: string) => `/api/v1/namespaces/${namespace}/secrets`,
  secret: (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/secrets/${name}`,
  pods: (namespace: string) => `/api/v1/namespaces/${namespace}/pods`,
  pod: (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/pods/${name}`,
  events: (namespace: string) => `/api/v1/namespaces/${namespace}/events`,
};
