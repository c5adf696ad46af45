/** Where the cluster's services report what they cannot throw (a failed beat, a failed write-back). */
export type ClusterLogger = {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
};
